package sqlsite

// SitemapFallbacks counts the incremental builds that read the sitemap's
// URLs from the index because the last build's sitemap files could not be
// read back.
func SitemapFallbacks() int64 { return sitemapFallbacks.Load() }

// SetSitemapMax sets the most URLs a sitemap file lists, for a test.
func SetSitemapMax(n int) (restore func()) {
	old := sitemapMax
	sitemapMax = n
	return func() { sitemapMax = old }
}
func ListBase(path string) (string, int) { return listBase(path) }

var (
	RowLocal        = rowLocal
	RowLocalLimited = rowLocalLimited
	QueryOrder      = queryOrder
	TotalOrder      = totalOrder
)

// ListPagesByKey counts the list pages updates read by the keys of their rows.
func ListPagesByKey() int64 { return listPagesByKey.Load() }
