package template

// This file is bake's, not the standard library's: see
// internal/gotemplate/doc.go.

import (
	"maps"
	"reflect"
)

// snapFunction looks up a function as findFunction does, without taking
// muFuncs: every call a template makes looks its function up, and with
// several goroutines executing templates of one set, the read lock's
// counter alone was 2% of a build. It reads a copy of execFuncs, taken
// under the lock at the first lookup after Funcs changed them.
//
// It reports false when the name is no function (findFunction then says
// so) or tmpl has no functions.
func (tmpl *Template) snapFunction(name string) (reflect.Value, bool, bool) {
	if tmpl == nil || tmpl.common == nil {
		return reflect.Value{}, false, false
	}
	m := tmpl.funcSnap.Load()
	if m == nil {
		tmpl.muFuncs.RLock()
		snap := maps.Clone(tmpl.execFuncs)
		// Stored under the read lock: Funcs, which takes the write lock,
		// cannot drop the snapshot before it is stored.
		tmpl.funcSnap.Store(&snap)
		tmpl.muFuncs.RUnlock()
		m = &snap
	}
	if fn := (*m)[name]; fn.IsValid() {
		return fn, false, true
	}
	if fn := builtinFuncs()[name]; fn.IsValid() {
		return fn, true, true
	}
	return reflect.Value{}, false, false
}
