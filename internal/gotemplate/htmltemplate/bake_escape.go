package template

// Escape escapes all associated templates now, as the first Execute does:
// their trees then hold the escapers, for a caller that analyses them
// (bake's sqlsite tells from them whether a list's rows are written as
// their fragments are). No template can be parsed into t's set after it.
func (t *Template) Escape() error { return t.escape() }
