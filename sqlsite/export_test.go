package sqlsite

func ListBase(path string) (string, int) { return listBase(path) }

var (
	RowLocal        = rowLocal
	RowLocalLimited = rowLocalLimited
	QueryOrder      = queryOrder
	TotalOrder      = totalOrder
)
