package template

// This file is bake's, not the standard library's: see
// internal/gotemplate/doc.go.

import (
	"github.com/bakehq/bake/internal/gotemplate/fmtsort"
	"io"
	"os"
	"reflect"
	"sync"
	"sync/atomic"
	"text/template/parse"
)

// A template's tree is compiled, at its first execution, into a tree of
// closures that does what walk does, node for node, without looking at each
// node's type again on every execution: a node's closure holds its children's
// closures and what can be known of it before data arrives (the functions'
// names, the constants as values, the field names as cached lookups).
//
// The closures are the interpreter's code with the dispatch taken out: they
// call s.at, evaluate, check and fail in the order walk does, and call the
// interpreter's own methods (evalField, evalCall's checks, validateType,
// printValue, errorf) for everything but three fast paths:
//
//   - a field of a struct, or a key of a map, read through a cache of the
//     last receiver type's lookup (a field index, a key value) instead of
//     MethodByName and FieldByName every time; a receiver whose type has a
//     method of that name, a missing key, a nil pointer or an unexported
//     or embedded field go to evalField, which does and says what it
//     always did;
//   - a function found once per snapshot of the template's functions
//     (bake_funcs.go), not once per call;
//   - string constants made into values once.
//
// Execution's semantics are those of walk: TestCompiledMatchesInterpreter
// and FuzzCompiledMatchesInterpreter run templates both ways on the same
// data and compare the output and the error. BAKE_TEMPLATE_INTERPRET=1 in
// the environment (or SetCompiled(false)) turns the compiled form off, for
// those comparisons and for measuring what it gains.

// program is a template's compiled tree.
type program struct {
	root *parse.ListNode // the tree it was compiled from
	run  execFn
}

type (
	execFn func(s *state, dot reflect.Value)
	pipeFn func(s *state, dot reflect.Value) reflect.Value
	cmdFn  func(s *state, dot, final reflect.Value) reflect.Value
	argFn  func(s *state, dot reflect.Value, typ reflect.Type) reflect.Value
)

var interpretOnly atomic.Bool

func init() {
	interpretOnly.Store(os.Getenv("BAKE_TEMPLATE_INTERPRET") == "1")
}

// SetCompiled turns the compiled execution of templates on or off for the
// whole process (off: every template is interpreted, as upstream's
// text/template does) and returns the previous setting. It is for tests
// and benchmarks that compare the two.
func SetCompiled(on bool) (was bool) {
	return !interpretOnly.Swap(!on)
}

// program returns t's compiled tree, compiling it if t's tree is not the
// one compiled last; nil when templates are interpreted or t has no tree.
func (t *Template) program() *program {
	if interpretOnly.Load() || t.Tree == nil || t.Root == nil {
		return nil
	}
	p := t.prog.Load()
	if p != nil && p.root == t.Root {
		return p
	}
	p = &program{root: t.Root, run: compileNode(t.Root)}
	t.prog.Store(p)
	return p
}

// compileNode returns what walk(dot, node) does.
func compileNode(node parse.Node) execFn {
	switch node := node.(type) {
	case *parse.ActionNode:
		pipe := compilePipelineString(node.Pipe)
		print := len(node.Pipe.Decl) == 0
		return func(s *state, dot reflect.Value) {
			s.at(node)
			// Do not pop variables so they persist until next end.
			// Also, if the action declares variables, don't print the result.
			val, str, isStr := pipe(s, dot)
			if !print {
				return
			}
			if isStr { // printValue of a string
				s.at(node)
				if _, err := io.WriteString(s.wr, str); err != nil {
					s.writeError(err)
				}
				return
			}
			s.printValue(node, val)
		}
	case *parse.IfNode:
		return compileIfOrWith(node, parse.NodeIf, node.Pipe, node.List, node.ElseList)
	case *parse.ListNode:
		if node == nil {
			break
		}
		fns := make([]execFn, len(node.Nodes))
		for i, n := range node.Nodes {
			fns[i] = compileNode(n)
		}
		return func(s *state, dot reflect.Value) {
			s.at(node)
			for _, f := range fns {
				f(s, dot)
			}
		}
	case *parse.RangeNode:
		return compileRange(node)
	case *parse.TemplateNode:
		return compileTemplate(node)
	case *parse.TextNode:
		text := node.Text
		return func(s *state, dot reflect.Value) {
			s.at(node)
			if _, err := s.wr.Write(text); err != nil {
				s.writeError(err)
			}
		}
	case *parse.WithNode:
		return compileIfOrWith(node, parse.NodeWith, node.Pipe, node.List, node.ElseList)
	}
	// break, continue, comments, and anything else: as walk does.
	return func(s *state, dot reflect.Value) { s.walk(dot, node) }
}

// compileIfOrWith returns what walkIfOrWith does.
func compileIfOrWith(node parse.Node, typ parse.NodeType, pipeNode *parse.PipeNode, listNode, elseNode *parse.ListNode) execFn {
	pipe := compilePipeline(pipeNode)
	list := compileNode(listNode)
	var elseList execFn
	if elseNode != nil {
		elseList = compileNode(elseNode)
	}
	return func(s *state, dot reflect.Value) {
		s.at(node)
		defer s.pop(s.mark())
		val := pipe(s, dot)
		truth, ok := isTrue(indirectInterface(val))
		if !ok {
			s.errorf("if/with can't use %v", val)
		}
		if truth {
			if typ == parse.NodeWith {
				list(s, val)
			} else {
				list(s, dot)
			}
		} else if elseList != nil {
			elseList(s, dot)
		}
	}
}

// compileTemplate returns what walkTemplate does; the template called runs
// compiled too.
func compileTemplate(t *parse.TemplateNode) execFn {
	pipe := compilePipeline(t.Pipe)
	return func(s *state, dot reflect.Value) {
		s.at(t)
		tmpl := s.tmpl.Lookup(t.Name)
		if tmpl == nil {
			s.errorf("template %q not defined", t.Name)
		}
		if s.depth == maxExecDepth {
			s.errorf("exceeded maximum template depth (%v)", maxExecDepth)
		}
		// Variables declared by the pipeline persist.
		dot = pipe(s, dot)
		newState := *s
		newState.depth++
		newState.tmpl = tmpl
		// No dynamic scoping: template invocations inherit no variables.
		newState.vars = []variable{{"$", dot}}
		if p := tmpl.program(); p != nil {
			p.run(&newState, dot)
			return
		}
		newState.walk(dot, tmpl.Root)
	}
}

// compileRange returns what walkRange does.
func compileRange(r *parse.RangeNode) execFn {
	pipe := compilePipeline(r.Pipe)
	body := compileNode(r.List)
	var elseList execFn
	if r.ElseList != nil {
		elseList = compileNode(r.ElseList)
	}
	return func(s *state, dot reflect.Value) {
		s.at(r)
		s.at(r)
		defer func() {
			if r := recover(); r != nil && r != walkBreak {
				panic(r)
			}
		}()
		defer s.pop(s.mark())
		val, _ := indirect(pipe(s, dot))
		// mark top of stack before any variables in the body are pushed.
		mark := s.mark()
		oneIteration := func(index, elem reflect.Value) {
			if len(r.Pipe.Decl) > 0 {
				if r.Pipe.IsAssign {
					// With two variables, index comes first.
					// With one, we use the element.
					if len(r.Pipe.Decl) > 1 {
						s.setVar(r.Pipe.Decl[0].Ident[0], index)
					} else {
						s.setVar(r.Pipe.Decl[0].Ident[0], elem)
					}
				} else {
					// Set top var (lexically the second if there
					// are two) to the element.
					s.setTopVar(1, elem)
				}
			}
			if len(r.Pipe.Decl) > 1 {
				if r.Pipe.IsAssign {
					s.setVar(r.Pipe.Decl[1].Ident[0], elem)
				} else {
					// Set next var (lexically the first if there
					// are two) to the index.
					s.setTopVar(2, index)
				}
			}
			defer s.pop(mark)
			defer func() {
				// Consume panic(walkContinue)
				if r := recover(); r != nil && r != walkContinue {
					panic(r)
				}
			}()
			body(s, elem)
		}
		switch val.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			if len(r.Pipe.Decl) > 1 {
				s.errorf("can't use %v to iterate over more than one variable", val)
				break
			}
			run := false
			for v := range val.Seq() {
				run = true
				// Pass element as second value, as we do for channels.
				oneIteration(reflect.Value{}, v)
			}
			if !run {
				break
			}
			return
		case reflect.Array, reflect.Slice:
			if val.Len() == 0 {
				break
			}
			for i := 0; i < val.Len(); i++ {
				oneIteration(reflect.ValueOf(i), val.Index(i))
			}
			return
		case reflect.Map:
			if val.Len() == 0 {
				break
			}
			om := fmtsort.Sort(val)
			for _, m := range om {
				oneIteration(m.Key, m.Value)
			}
			return
		case reflect.Chan:
			if val.IsNil() {
				break
			}
			if val.Type().ChanDir() == reflect.SendDir {
				s.errorf("range over send-only channel %v", val)
				break
			}
			i := 0
			for ; ; i++ {
				elem, ok := val.Recv()
				if !ok {
					break
				}
				oneIteration(reflect.ValueOf(i), elem)
			}
			if i == 0 {
				break
			}
			return
		case reflect.Invalid:
			break // An invalid value is likely a nil map, etc. and acts like an empty map.
		case reflect.Func:
			if val.Type().CanSeq() {
				if len(r.Pipe.Decl) > 1 {
					s.errorf("can't use %v iterate over more than one variable", val)
					break
				}
				run := false
				for v := range val.Seq() {
					run = true
					// Pass element as second value,
					// as we do for channels.
					oneIteration(reflect.Value{}, v)
				}
				if !run {
					break
				}
				return
			}
			if val.Type().CanSeq2() {
				run := false
				for i, v := range val.Seq2() {
					run = true
					if len(r.Pipe.Decl) > 1 {
						oneIteration(i, v)
					} else {
						// If there is only one range variable,
						// oneIteration will use the
						// second value.
						oneIteration(reflect.Value{}, i)
					}
				}
				if !run {
					break
				}
				return
			}
			fallthrough
		default:
			s.errorf("range can't iterate over %v", val)
		}
		if elseList != nil {
			elseList(s, dot)
		}
	}
}

// compilePipeline returns what evalPipeline does.
func compilePipeline(pipe *parse.PipeNode) pipeFn {
	run := compilePipelineString(pipe)
	return func(s *state, dot reflect.Value) reflect.Value {
		v, str, isStr := run(s, dot)
		if isStr {
			return reflect.ValueOf(str)
		}
		return v
	}
}

// pipeStringFn is a compiled pipeline whose value may be a string not yet
// made a reflect.Value: str, when isStr.
type pipeStringFn func(s *state, dot reflect.Value) (v reflect.Value, str string, isStr bool)

// compilePipelineString returns what evalPipeline does, but for the value
// of a pipeline that ends in escapers registered with RegisterStringFunc
// (and declares no variable), which it returns as a string.
//
// A command that is such an escaper, with no argument but the value of the
// command before, and that value a string, returns what the escaper
// returns: its plain form is called on the string (evalCall would check
// the call, find it good, and call the escaper with the string as its only
// argument, which returns the same).
func compilePipelineString(pipe *parse.PipeNode) pipeStringFn {
	if pipe == nil {
		return func(*state, reflect.Value) (reflect.Value, string, bool) { return reflect.Value{}, "", false }
	}
	cmds := make([]cmdFn, len(pipe.Cmds))
	escapers := make([]*funcRef, len(pipe.Cmds))
	idents := make([]*parse.IdentifierNode, len(pipe.Cmds))
	for i, c := range pipe.Cmds {
		cmds[i] = compileCommand(c)
		if id, ok := c.Args[0].(*parse.IdentifierNode); ok && len(c.Args) == 1 && i > 0 {
			escapers[i], idents[i] = &funcRef{name: id.Ident}, id
		}
	}
	decl := len(pipe.Decl) > 0
	return func(s *state, dot reflect.Value) (value reflect.Value, str string, isStr bool) {
		s.at(pipe)
		value = missingVal
		for i, cmd := range cmds {
			if ref := escapers[i]; ref != nil {
				if e, ok := ref.lookup(s.tmpl); ok && e.plain != nil {
					if isStr {
						s.at(idents[i])
						str = e.plain(str)
						continue
					}
					if value.IsValid() && value.Type() == stringType && value.CanInterface() {
						s.at(idents[i])
						str, isStr = e.plain(value.String()), true
						continue
					}
				}
			}
			if isStr {
				value, isStr = reflect.ValueOf(str), false
			}
			value = cmd(s, dot, value) // previous value is this one's final arg.
			// If the object has type interface{}, dig down one level to the thing inside.
			if value.Kind() == reflect.Interface && value.Type().NumMethod() == 0 {
				value = value.Elem()
			}
		}
		if !decl {
			return value, str, isStr
		}
		if isStr {
			value, isStr = reflect.ValueOf(str), false
		}
		for _, variable := range pipe.Decl {
			if pipe.IsAssign {
				s.setVar(variable.Ident[0], value)
			} else {
				s.push(variable.Ident[0], value)
			}
		}
		return value, "", false
	}
}

// compileCommand returns what evalCommand does.
func compileCommand(cmd *parse.CommandNode) cmdFn {
	args := cmd.Args
	switch n := args[0].(type) {
	case *parse.FieldNode:
		chain := newFieldChain(n.Ident)
		return func(s *state, dot, final reflect.Value) reflect.Value {
			s.at(n)
			return chain.eval(s, dot, dot, n, args, final)
		}
	case *parse.IdentifierNode:
		// Must be a function.
		return compileFunction(n, cmd, args)
	case *parse.PipeNode:
		// Parenthesized pipeline. The arguments are all inside the pipeline; final must be absent.
		pipe := compilePipeline(n)
		return func(s *state, dot, final reflect.Value) reflect.Value {
			s.notAFunction(args, final)
			return pipe(s, dot)
		}
	case *parse.VariableNode:
		if len(n.Ident) > 1 {
			chain := newFieldChain(n.Ident[1:])
			return func(s *state, dot, final reflect.Value) reflect.Value {
				s.at(n)
				return chain.eval(s, dot, s.varValue(n.Ident[0]), n, args, final)
			}
		}
	case *parse.StringNode:
		v := reflect.ValueOf(n.Text)
		return func(s *state, dot, final reflect.Value) reflect.Value {
			s.at(n)
			s.notAFunction(args, final)
			return v
		}
	}
	return func(s *state, dot, final reflect.Value) reflect.Value {
		return s.evalCommand(dot, cmd, final)
	}
}

// funcEntry is a function found in a snapshot of a template's functions.
type funcEntry struct {
	snap    *map[string]reflect.Value
	fn      reflect.Value
	builtin bool
	plain   func(string) string // RegisterStringFunc's, if fn has one
}

// funcRef finds a function by name as findFunction does, once per
// snapshot of the template's functions.
type funcRef struct {
	name  string
	found atomic.Pointer[funcEntry]
}

// lookup returns the function, or false if there is none of that name.
func (r *funcRef) lookup(tmpl *Template) (*funcEntry, bool) {
	var snap *map[string]reflect.Value
	if tmpl != nil && tmpl.common != nil {
		snap = tmpl.funcSnap.Load()
	}
	if e := r.found.Load(); snap != nil && e != nil && e.snap == snap {
		return e, true
	}
	fn, isBuiltin, ok := findFunction(r.name, tmpl)
	if !ok {
		return nil, false
	}
	e := &funcEntry{snap: snap, fn: fn, builtin: isBuiltin}
	if fn.Type() == escaperType {
		if plain, ok := stringFuncs.Load(fn.Pointer()); ok {
			e.plain = plain.(func(string) string)
		}
	}
	if snap != nil && tmpl.funcSnap.Load() == snap {
		r.found.Store(e)
	}
	return e, true
}

var (
	escaperType = reflect.TypeFor[func(...any) string]()
	stringFuncs sync.Map // code pointer of a func(...any) string → func(string) string
)

// RegisterStringFunc declares that fn, called with one argument of type
// string, returns plain(s): a compiled pipeline then calls plain on a
// string made by the command before, without making it an argument list
// of interfaces. fn must be a function declared at package level (its
// code pointer identifies it); html/template's escapers are registered.
func RegisterStringFunc(fn func(...any) string, plain func(string) string) {
	stringFuncs.Store(reflect.ValueOf(fn).Pointer(), plain)
}

// compileFunction returns what evalFunction(dot, node, cmd, args, final)
// does.
func compileFunction(node *parse.IdentifierNode, cmd parse.Node, args []parse.Node) cmdFn {
	ref := &funcRef{name: node.Ident}
	var argFns []argFn
	if args != nil {
		for _, a := range args[1:] {
			argFns = append(argFns, compileArg(a))
		}
	}
	return func(s *state, dot, final reflect.Value) reflect.Value {
		s.at(node)
		e, ok := ref.lookup(s.tmpl)
		if !ok {
			s.errorf("%q is not a defined function", ref.name)
		}
		return s.evalCompiledCall(dot, e.fn, e.builtin, cmd, ref.name, args, argFns, final)
	}
}

// compileArg returns what evalArg(dot, typ, n) does.
func compileArg(n parse.Node) argFn {
	switch arg := n.(type) {
	case *parse.DotNode:
		return func(s *state, dot reflect.Value, typ reflect.Type) reflect.Value {
			s.at(n)
			return s.validateType(dot, typ)
		}
	case *parse.FieldNode:
		chain := newFieldChain(arg.Ident)
		self := []parse.Node{n}
		return func(s *state, dot reflect.Value, typ reflect.Type) reflect.Value {
			s.at(n)
			s.at(arg)
			return s.validateType(chain.eval(s, dot, dot, arg, self, missingVal), typ)
		}
	case *parse.VariableNode:
		if len(arg.Ident) == 1 {
			break
		}
		chain := newFieldChain(arg.Ident[1:])
		return func(s *state, dot reflect.Value, typ reflect.Type) reflect.Value {
			s.at(n)
			s.at(arg)
			value := s.varValue(arg.Ident[0])
			return s.validateType(chain.eval(s, dot, value, arg, nil, missingVal), typ)
		}
	case *parse.PipeNode:
		pipe := compilePipeline(arg)
		return func(s *state, dot reflect.Value, typ reflect.Type) reflect.Value {
			s.at(n)
			return s.validateType(pipe(s, dot), typ)
		}
	case *parse.IdentifierNode:
		fn := compileFunction(arg, arg, nil)
		return func(s *state, dot reflect.Value, typ reflect.Type) reflect.Value {
			s.at(n)
			return s.validateType(fn(s, dot, missingVal), typ)
		}
	case *parse.StringNode:
		// evalString makes a new string of type typ, and evalEmptyInterface
		// a value of the string: for a parameter of type string or any, one
		// value made now is the same argument.
		v := reflect.ValueOf(arg.Text)
		return func(s *state, dot reflect.Value, typ reflect.Type) reflect.Value {
			if typ == stringType || typ.Kind() == reflect.Interface && typ.NumMethod() == 0 {
				s.at(n)
				return v
			}
			return s.evalArg(dot, typ, n)
		}
	}
	return func(s *state, dot reflect.Value, typ reflect.Type) reflect.Value {
		return s.evalArg(dot, typ, n)
	}
}

// fieldChain evaluates .X.Y.Z as evalFieldChain does, each name through
// the cache of a fieldStep.
type fieldChain struct {
	steps []fieldStep
}

func newFieldChain(idents []string) *fieldChain {
	c := &fieldChain{steps: make([]fieldStep, len(idents))}
	for i, id := range idents {
		c.steps[i].name = id
	}
	return c
}

// eval is evalFieldChain(dot, receiver, node, ident, args, final).
func (c *fieldChain) eval(s *state, dot, receiver reflect.Value, node parse.Node, args []parse.Node, final reflect.Value) reflect.Value {
	n := len(c.steps)
	for i := 0; i < n-1; i++ {
		st := &c.steps[i]
		if v, ok := st.get(receiver); ok {
			receiver = v
			continue
		}
		receiver = s.evalField(dot, st.name, node, nil, missingVal, receiver)
	}
	last := &c.steps[n-1]
	// Now if it's a method, it gets the arguments.
	if len(args) <= 1 && isMissing(final) {
		if v, ok := last.get(receiver); ok {
			return v
		}
	}
	return s.evalField(dot, last.name, node, args, final, receiver)
}

// fieldStep is one name of a field chain with what the last receiver type
// it was read from resolved it to.
type fieldStep struct {
	name  string
	cache atomic.Pointer[fieldLookup]
}

type fieldLookup struct {
	typ  reflect.Type // of the receiver, indirected
	addr bool         // the receiver was addressable: methods of *typ count
	kind int
	// index of the field (fieldOfStruct), or key (keyOfMap).
	index int
	key   reflect.Value
}

const (
	lookupSlow    = iota // evalField does it
	fieldOfStruct        // receiver.Field(index)
	keyOfMap             // receiver.MapIndex(key), if present
)

// get returns what evalField returns for the name on receiver, with no
// arguments, when that is a struct's field or a map's present entry; false
// for anything else, which evalField must do.
func (st *fieldStep) get(receiver reflect.Value) (reflect.Value, bool) {
	if !receiver.IsValid() {
		return reflect.Value{}, false
	}
	r, isNil := indirect(receiver)
	if isNil {
		return reflect.Value{}, false
	}
	t, addr := r.Type(), r.CanAddr()
	l := st.cache.Load()
	if l == nil || l.typ != t || l.addr != addr {
		l = lookupField(t, addr, st.name)
		st.cache.Store(l)
	}
	switch l.kind {
	case fieldOfStruct:
		return r.Field(l.index), true
	case keyOfMap:
		v := r.MapIndex(l.key)
		return v, v.IsValid()
	}
	return reflect.Value{}, false
}

// lookupField resolves name on a receiver of type t (not a pointer or an
// interface: evalField's indirect has gone through those) as evalField
// does: a method first (of *t if the receiver is addressable), then an
// exported field of a struct, then a key of a map.
func lookupField(t reflect.Type, addr bool, name string) *fieldLookup {
	l := &fieldLookup{typ: t, addr: addr}
	pt := t
	if addr {
		pt = reflect.PointerTo(t)
	}
	if _, ok := pt.MethodByName(name); ok {
		return l
	}
	switch t.Kind() {
	case reflect.Struct:
		if f, ok := t.FieldByName(name); ok && f.IsExported() && len(f.Index) == 1 {
			l.kind, l.index = fieldOfStruct, f.Index[0]
		}
	case reflect.Map:
		if key := reflect.ValueOf(name); key.Type().AssignableTo(t.Key()) {
			l.kind, l.key = keyOfMap, key
		}
	}
	return l
}

// evalCompiledCall is evalCall with the arguments evaluated by argFns,
// compiled from args[1:].
func (s *state) evalCompiledCall(dot, fun reflect.Value, isBuiltin bool, node parse.Node, name string, args []parse.Node, argFns []argFn, final reflect.Value) reflect.Value {
	if args != nil {
		args = args[1:] // Zeroth arg is function name/node; not passed to function.
	}
	typ := fun.Type()
	numIn := len(args)
	if !isMissing(final) {
		numIn++
	}
	numFixed := len(args)
	if typ.IsVariadic() {
		numFixed = typ.NumIn() - 1 // last arg is the variadic one.
		if numIn < numFixed {
			s.errorf("wrong number of args for %s: want at least %d got %d", name, typ.NumIn()-1, len(args))
		}
	} else if numIn != typ.NumIn() {
		s.errorf("wrong number of args for %s: want %d got %d", name, typ.NumIn(), numIn)
	}
	if err := goodFunc(name, typ); err != nil {
		s.errorf("%v", err)
	}

	unwrap := func(v reflect.Value) reflect.Value {
		if v.Type() == reflectValueType {
			v = v.Interface().(reflect.Value)
		}
		return v
	}

	// Special case for builtin and/or, which short-circuit.
	if isBuiltin && (name == "and" || name == "or") {
		argType := typ.In(0)
		var v reflect.Value
		for _, arg := range argFns {
			v = arg(s, dot, argType).Interface().(reflect.Value)
			if truth(v) == (name == "or") {
				// This value was already unwrapped
				// by the .Interface().(reflect.Value).
				return v
			}
		}
		if !final.Equal(missingVal) {
			// The last argument to and/or is coming from
			// the pipeline. We didn't short circuit on an earlier
			// argument, so we are going to return this one.
			// We don't have to evaluate final, but we do
			// have to check its type. Then, since we are
			// going to return it, we have to unwrap it.
			v = unwrap(s.validateType(final, argType))
		}
		return v
	}

	// Build the arg list.
	argv := make([]reflect.Value, numIn)
	// Args must be evaluated. Fixed args first.
	i := 0
	for ; i < numFixed && i < len(args); i++ {
		argv[i] = argFns[i](s, dot, typ.In(i))
	}
	// Now the ... args.
	if typ.IsVariadic() {
		argType := typ.In(typ.NumIn() - 1).Elem() // Argument is a slice.
		for ; i < len(args); i++ {
			argv[i] = argFns[i](s, dot, argType)
		}
	}
	// Add final value if necessary.
	if !isMissing(final) {
		t := typ.In(typ.NumIn() - 1)
		if typ.IsVariadic() {
			if numIn-1 < numFixed {
				// The added final argument corresponds to a fixed parameter of the function.
				// Validate against the type of the actual parameter.
				t = typ.In(numIn - 1)
			} else {
				// The added final argument corresponds to the variadic part.
				// Validate against the type of the elements of the variadic slice.
				t = t.Elem()
			}
		}
		argv[i] = s.validateType(final, t)
	}

	// Special case for the "call" builtin.
	// Insert the name of the callee function as the first argument.
	if isBuiltin && name == "call" {
		var calleeName string
		if len(args) == 0 {
			// final must be present or we would have errored out above.
			calleeName = final.String()
		} else {
			calleeName = args[0].String()
		}
		argv = append([]reflect.Value{reflect.ValueOf(calleeName)}, argv...)
		fun = reflect.ValueOf(call)
	}

	if v, ok, err := directCall(fun, argv); ok {
		if err != nil {
			s.at(node)
			s.errorf("error calling %s: %w", name, err)
		}
		return v
	}
	v, err := safeCall(fun, argv)
	// If we have an error that is not nil, stop execution and return that
	// error to the caller.
	if err != nil {
		s.at(node)
		s.errorf("error calling %s: %w", name, err)
	}
	return unwrap(v)
}
