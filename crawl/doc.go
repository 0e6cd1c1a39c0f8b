// Package crawl freezes a running site into a bake build: it fetches the
// site's pages over HTTP, from its home page, robots.txt and sitemaps,
// following the links of each page (a, link, script, img, srcset, CSS
// url()) to other pages of the same site, and writes every page answered
// 200 into a new build folder with its manifest, as a full build does, so
// that bake publish, releases and rollback work for it unchanged.
//
// Redirects become redirect entries; 404s and errors are reported as
// broken links with the pages that link to them. The origin's address in
// text files is rewritten to the site's public base URL. A second crawl
// sends If-None-Match and If-Modified-Since, and keeps the file of a page
// that did not change (a hard link from the previous build) instead of
// writing it again.
package crawl
