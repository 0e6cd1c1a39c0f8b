package template

// This file is bake's, not the standard library's: see
// internal/gotemplate/doc.go.

import (
	"fmt"
	"io"
	"reflect"
)

// directCall calls fun with args, as safeCall does, without
// reflect.Value.Call when fun has one of the types most calls of an HTML
// template have: html/template's escapers (every action calls one), the
// comparisons, and functions of strings. A page of bake's benchmark site
// makes about forty such calls; through reflect each costs several
// allocations and a copy of its arguments, a tenth of the build.
//
// It reports false, having called nothing, for any other function, or when
// an argument is not what the direct call needs; evalCall then calls fun
// through reflect. Results and errors are those of safeCall: a panic
// becomes the error, and a function returning a non-nil error fails.
func directCall(fun reflect.Value, args []reflect.Value) (v reflect.Value, ok bool, err error) {
	if !fun.CanInterface() {
		return reflect.Value{}, false, nil
	}
	defer func() {
		if r := recover(); r != nil {
			ok = true // called: it must not be called again through reflect
			if e, isErr := r.(error); isErr {
				err = e
			} else {
				err = fmt.Errorf("%v", r)
			}
		}
	}()
	switch f := fun.Interface().(type) {
	case func(...any) string: // the escapers, print, html, js, urlquery
		var buf [4]any
		xs, ok := interfaces(buf[:0], args)
		if !ok {
			return reflect.Value{}, false, nil
		}
		return reflect.ValueOf(f(xs...)), true, nil
	case func(string, ...any) (string, error):
		if len(args) == 0 || !isString(args[0]) {
			return reflect.Value{}, false, nil
		}
		var buf [4]any
		xs, ok := interfaces(buf[:0], args[1:])
		if !ok {
			return reflect.Value{}, false, nil
		}
		s, err := f(args[0].String(), xs...)
		return reflect.ValueOf(s), true, err
	case func(string) string:
		if len(args) != 1 || !isString(args[0]) {
			return reflect.Value{}, false, nil
		}
		return reflect.ValueOf(f(args[0].String())), true, nil
	case func(string) (string, error):
		if len(args) != 1 || !isString(args[0]) {
			return reflect.Value{}, false, nil
		}
		s, err := f(args[0].String())
		return reflect.ValueOf(s), true, err
	case func(string, any) (string, error):
		if len(args) != 2 || !isString(args[0]) || !args[1].CanInterface() {
			return reflect.Value{}, false, nil
		}
		s, err := f(args[0].String(), args[1].Interface())
		return reflect.ValueOf(s), true, err
	case func(reflect.Value, reflect.Value) (bool, error): // ne, lt, le, gt, ge
		if len(args) != 2 {
			return reflect.Value{}, false, nil
		}
		a, ok1 := wrapped(args[0])
		b, ok2 := wrapped(args[1])
		if !ok1 || !ok2 {
			return reflect.Value{}, false, nil
		}
		r, err := f(a, b)
		return reflect.ValueOf(r), true, err
	case func(reflect.Value, ...reflect.Value) (bool, error): // eq
		if len(args) == 0 || len(args) > 5 {
			return reflect.Value{}, false, nil
		}
		var buf [4]reflect.Value
		rest := buf[:0]
		a, ok := wrapped(args[0])
		for _, arg := range args[1:] {
			b, okb := wrapped(arg)
			ok = ok && okb
			rest = append(rest, b)
		}
		if !ok {
			return reflect.Value{}, false, nil
		}
		r, err := f(a, rest...)
		return reflect.ValueOf(r), true, err
	case func(reflect.Value) bool: // not
		if len(args) != 1 {
			return reflect.Value{}, false, nil
		}
		a, ok := wrapped(args[0])
		if !ok {
			return reflect.Value{}, false, nil
		}
		return reflect.ValueOf(f(a)), true, nil
	}
	return reflect.Value{}, false, nil
}

// interfaces appends the values of args to xs, as reflect passes them to a
// parameter of type any; false if one cannot be read (an unexported field).
func interfaces(xs []any, args []reflect.Value) ([]any, bool) {
	for _, a := range args {
		if !a.IsValid() || !a.CanInterface() {
			return nil, false
		}
		xs = append(xs, a.Interface())
	}
	return xs, true
}

// isString reports whether arg is a string that reflect would pass to a
// parameter of type string (not one read from an unexported field, which
// reflect refuses).
func isString(arg reflect.Value) bool {
	return arg.Kind() == reflect.String && arg.CanInterface()
}

// wrapped returns the reflect.Value that evalArg wrapped in arg for a
// parameter of type reflect.Value (false if arg is itself a reflect.Value
// read from an unexported field, which reflect refuses to pass).
func wrapped(arg reflect.Value) (reflect.Value, bool) {
	if !arg.IsValid() || arg.Type() != reflectValueType || !arg.CanInterface() {
		return reflect.Value{}, false
	}
	return arg.Interface().(reflect.Value), true
}

var stringType = reflect.TypeFor[string]()

// printString writes v, as printValue would, if it is of type string (what
// every escaper returns, so nearly every value an HTML template prints):
// fmt.Fprint writes a string's bytes as they are, and a string has no
// String or Error method to call. It writes them with WriteString where
// the writer has it (fmt calls Write): the same bytes. A string read from
// an unexported field is left to printValue, which fails on it.
func (s *state) printString(v reflect.Value) bool {
	if !v.IsValid() || v.Type() != stringType || !v.CanInterface() {
		return false
	}
	if _, err := io.WriteString(s.wr, v.String()); err != nil {
		s.writeError(err)
	}
	return true
}
