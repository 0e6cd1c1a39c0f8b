package template

// This file is bake's: see internal/gotemplate/doc.go.

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	stdtemplate "text/template" // the standard library, to compare with
)

type namedString string

// directFuncs are functions of every type directCall calls directly.
var directFuncs = map[string]any{
	"html":     HTMLEscaper,
	"js":       JSEscaper,
	"urlquery": URLQueryEscaper,
	"print":    fmt.Sprint,
	"url": func(name string, args ...any) (string, error) {
		switch name {
		case "bad":
			return "", errors.New("no route named bad")
		case "panic":
			panic("route panics")
		}
		return "/" + name + "/" + fmt.Sprint(args...), nil
	},
	"absurl": func(p string) string { return "https://example.org" + p },
	"static": func(p string) (string, error) {
		if strings.Contains(p, "..") {
			return "", fmt.Errorf("static %q: outside the static folder", p)
		}
		if p == "panic" {
			panic(errors.New("static panics with an error"))
		}
		return "/static/" + p, nil
	},
	"date": func(layout string, v any) (string, error) {
		if v == nil {
			return "", nil
		}
		if _, ok := v.(int); !ok {
			return "", fmt.Errorf("date: %T is not a time", v)
		}
		return layout + fmt.Sprint(v), nil
	},
	"eq":  eq,
	"ne":  ne,
	"lt":  lt,
	"le":  le,
	"gt":  gt,
	"ge":  ge,
	"not": not,
}

// argValues are arguments as evalArg makes them for a parameter of type
// typ, made from s and n.
func argValues(typ reflect.Type, s string, n int) []reflect.Value {
	var anyS, anyNil any = s, nil
	switch {
	case typ == reflectValueType:
		var out []reflect.Value
		for _, v := range []any{s, n, namedString(s), nil, 1.5, []int{n}, true} {
			out = append(out, reflect.ValueOf(reflect.ValueOf(v)))
		}
		return out
	case typ.Kind() == reflect.String:
		return []reflect.Value{reflect.ValueOf(s), reflect.ValueOf(namedString(s)).Convert(typ), reflect.ValueOf(&s).Elem()}
	default: // any
		return []reflect.Value{
			reflect.ValueOf(s), reflect.ValueOf(n), reflect.ValueOf(namedString(s)),
			reflect.ValueOf(&anyS).Elem(), reflect.ValueOf(&anyNil).Elem(), reflect.Zero(typ),
			reflect.ValueOf(&s), reflect.ValueOf([]string{s}), reflect.ValueOf(struct{ A int }{n}),
		}
	}
}

// calls returns argument lists for fun: every combination of argValues,
// with none, one and two arguments for a variadic parameter.
func calls(fun reflect.Value, s string, n int) [][]reflect.Value {
	typ := fun.Type()
	var params []reflect.Type
	for i := range typ.NumIn() {
		p := typ.In(i)
		if typ.IsVariadic() && i == typ.NumIn()-1 {
			p = p.Elem()
			params = append(params, p, p) // two variadic arguments
			break
		}
		params = append(params, p)
	}
	var lists [][]reflect.Value
	var walk func(i int, list []reflect.Value)
	walk = func(i int, list []reflect.Value) {
		if i >= typ.NumIn()-1 && typ.IsVariadic() || i == len(params) {
			lists = append(lists, append([]reflect.Value(nil), list...))
		}
		if i == len(params) {
			return
		}
		for _, v := range argValues(params[i], s, n) {
			walk(i+1, append(list, v))
		}
	}
	walk(0, nil)
	return lists
}

// checkDirect calls every function of directFuncs with arguments made of s
// and n, directly and through reflect, and wants the same results.
func checkDirect(t *testing.T, s string, n int) {
	t.Helper()
	for name, f := range directFuncs {
		fun := reflect.ValueOf(f)
		for _, args := range calls(fun, s, n) {
			got, ok, gotErr := directCall(fun, args)
			if !ok {
				t.Fatalf("%s%v: not called directly", name, args)
			}
			want, wantErr := safeCall(fun, args)
			if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
				t.Fatalf("%s%v: error %v, through reflect %v", name, args, gotErr, wantErr)
			}
			if gotErr != nil {
				continue
			}
			if want.Type() == reflectValueType {
				want = want.Interface().(reflect.Value)
			}
			if got.Type() != want.Type() || got.Interface() != want.Interface() {
				t.Fatalf("%s%v = %#v (%s), through reflect %#v (%s)", name, args, got, got.Type(), want, want.Type())
			}
		}
	}
}

func TestDirectCallIsReflectCall(t *testing.T) {
	for _, s := range []string{"", "a", "bad", "panic", `<a href="x">&'`, "../up", "été", "\x00\xff"} {
		for _, n := range []int{0, 1, -3} {
			checkDirect(t, s, n)
		}
	}
}

func FuzzDirectCall(f *testing.F) {
	f.Add(`<script>alert("x")</script>`, 2)
	f.Add("bad", 0)
	f.Fuzz(func(t *testing.T, s string, n int) { checkDirect(t, s, n) })
}

// TestDirectCallFallsBack: other function types, and arguments a direct
// call cannot take, go through reflect.
func TestDirectCallFallsBack(t *testing.T) {
	var unexported = reflect.ValueOf(struct{ a string }{"x"}).Field(0)
	tests := []struct {
		name string
		fun  any
		args []reflect.Value
	}{
		{"int result", func(a, b int) int { return a + b }, []reflect.Value{reflect.ValueOf(1), reflect.ValueOf(2)}},
		{"any result", func(s string) any { return s }, []reflect.Value{reflect.ValueOf("x")}},
		{"unexported field", fmt.Sprint, []reflect.Value{unexported}},
		{"invalid value", fmt.Sprint, []reflect.Value{{}}},
		{"eq of many", eq, []reflect.Value{reflect.ValueOf(reflect.ValueOf(1)), reflect.ValueOf(reflect.ValueOf(1)), reflect.ValueOf(reflect.ValueOf(1)), reflect.ValueOf(reflect.ValueOf(1)), reflect.ValueOf(reflect.ValueOf(1)), reflect.ValueOf(reflect.ValueOf(1))}},
		{"unwrapped reflect.Value", not, []reflect.Value{reflect.ValueOf(true)}},
	}
	for _, tt := range tests {
		if _, ok, _ := directCall(reflect.ValueOf(tt.fun), tt.args); ok {
			t.Errorf("%s: called directly", tt.name)
		}
	}
}

// TestDirectCallInTemplate: what a template shows when a directly called
// function fails or panics, as text/template reports it.
func TestDirectCallInTemplate(t *testing.T) {
	tests := []struct{ src, want, err string }{
		{`{{url "items" 2}}`, "/items/2", ""},
		{`{{"a<b" | html}} {{absurl "/x/"}} {{eq 1 1 2}} {{not 0}} {{lt 1 2}}`, "a&lt;b https://example.org/x/ true true true", ""},
		{`{{url "bad"}}`, "", `template: t:1:2: executing "t" at <url "bad">: error calling url: no route named bad`},
		{`{{url "panic"}}`, "", `template: t:1:2: executing "t" at <url "panic">: error calling url: route panics`},
		{`{{static "../x"}}`, "", `template: t:1:2: executing "t" at <static "../x">: error calling static: static "../x": outside the static folder`},
		{`{{lt 1 "a"}}`, "", `template: t:1:2: executing "t" at <lt 1 "a">: error calling lt: incompatible types for comparison: int and string`},
	}
	for _, tt := range tests {
		tmpl := Must(New("t").Funcs(directFuncs).Parse(tt.src))
		var b strings.Builder
		err := tmpl.Execute(&b, nil)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("%s: error %v, want %s", tt.src, err, tt.err)
			}
			continue
		}
		if err != nil || b.String() != tt.want {
			t.Errorf("%s = %q, %v; want %q", tt.src, b.String(), err, tt.want)
		}
	}
}

// TestDirectCallPanicsOnce: a function that panics is called once, not
// again through reflect.
func TestDirectCallPanicsOnce(t *testing.T) {
	n := 0
	f := func(string) string { n++; panic("once") }
	tmpl := Must(New("t").Funcs(FuncMap{"f": f}).Parse(`{{f "x"}}`))
	err := tmpl.Execute(new(strings.Builder), nil)
	if err == nil || !strings.Contains(err.Error(), "error calling f: once") {
		t.Errorf("error %v, want the panic's", err)
	}
	if n != 1 {
		t.Errorf("f called %d times, want 1", n)
	}
}

type shout string

func (s shout) String() string { return strings.ToUpper(string(s)) }

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestPrintString: values of type string are written as they are; other
// string types still print through fmt (and their String method).
func TestPrintString(t *testing.T) {
	data := map[string]any{"s": "a<b", "shout": shout("hey"), "named": namedString("n"), "empty": ""}
	tmpl := Must(New("t").Parse(`[{{.s}}|{{.shout}}|{{.named}}|{{.empty}}|{{.missing}}|{{printf "%d" 3}}]`))
	var b strings.Builder
	if err := tmpl.Execute(&b, data); err != nil || b.String() != "[a<b|HEY|n||<no value>|3]" {
		t.Errorf("got %q, %v", b.String(), err)
	}
	// A writer's error is returned as it is, as fmt.Fprint's was.
	err := Must(New("w").Parse(`{{"x"}}`)).Execute(failWriter{}, nil)
	if err == nil || err.Error() != "disk full" {
		t.Errorf("error %v, want the writer's", err)
	}
}

// TestUnexportedFieldsAsUpstream: values read from unexported fields reach
// a template only as reflect.Values, and reflect refuses to pass or print
// them; the copy fails (or panics) as the standard library does.
func TestUnexportedFieldsAsUpstream(t *testing.T) {
	type hidden struct {
		s string
		v reflect.Value
	}
	rv := reflect.ValueOf(hidden{s: "x<y", v: reflect.ValueOf(3)})
	funcs := map[string]any{"up": strings.ToUpper}
	tests := []struct {
		src  string
		data reflect.Value
	}{
		{`{{up .}}`, rv.Field(0)},
		{`{{.}}`, rv.Field(0)},
		{`{{print .}}`, rv.Field(0)},
		{`{{eq . 3}}`, rv.Field(1)},
		{`{{not .}}`, rv.Field(1)},
		{`{{lt . 4}}`, rv.Field(1)},
	}
	run := func(exec func(*strings.Builder) error) (out, msg string) {
		var b strings.Builder
		defer func() {
			if r := recover(); r != nil {
				out, msg = b.String(), fmt.Sprint("panic: ", r)
			}
		}()
		err := exec(&b)
		if err != nil {
			msg = err.Error()
		}
		return b.String(), msg
	}
	for _, tt := range tests {
		gotOut, gotMsg := run(func(b *strings.Builder) error {
			return Must(New("t").Funcs(funcs).Parse(tt.src)).Execute(b, tt.data)
		})
		wantOut, wantMsg := run(func(b *strings.Builder) error {
			return stdtemplate.Must(stdtemplate.New("t").Funcs(funcs).Parse(tt.src)).Execute(b, tt.data)
		})
		if gotOut != wantOut || gotMsg != wantMsg {
			t.Errorf("%s: got %q, %q; the standard library %q, %q", tt.src, gotOut, gotMsg, wantOut, wantMsg)
		}
	}
}

// TestFuncsPanicDropsSnapshot: Funcs that panics partway (a value that is
// no function) has changed some functions already; the next execution
// calls those, as the standard library's does.
func TestFuncsPanicDropsSnapshot(t *testing.T) {
	for range 20 { // the map's order decides what Funcs changes first
		tmpl := Must(New("t").Funcs(FuncMap{"f": func() string { return "old" }}).Parse(`{{f}}`))
		execString(t, tmpl) // takes a snapshot
		func() {
			defer func() { recover() }()
			tmpl.Funcs(FuncMap{"f": func() string { return "new" }, "bad": 1})
		}()
		want := "old"
		if tmpl.execFuncs["f"].Call(nil)[0].String() == "new" {
			want = "new"
		}
		if got := execString(t, tmpl); got != want {
			t.Fatalf("after a panicking Funcs: got %q, want %q", got, want)
		}
	}
}
