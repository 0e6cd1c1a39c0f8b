package asset

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/bakehq/bake"
	"github.com/evanw/esbuild/pkg/api"
)

// engineOptions are the parsed Config.Targets.
type engineOptions struct {
	target  api.Target
	engines []api.Engine
	key     string // for cache keys
}

var esTargets = map[string]api.Target{
	"es2015": api.ES2015, "es2016": api.ES2016, "es2017": api.ES2017, "es2018": api.ES2018,
	"es2019": api.ES2019, "es2020": api.ES2020, "es2021": api.ES2021, "es2022": api.ES2022,
	"es2023": api.ES2023, "es2024": api.ES2024, "esnext": api.ESNext,
}

var engines = map[string]api.EngineName{
	"chrome": api.EngineChrome, "edge": api.EngineEdge, "firefox": api.EngineFirefox,
	"safari": api.EngineSafari, "ios": api.EngineIOS, "opera": api.EngineOpera,
}

var engineRe = regexp.MustCompile(`^([a-z]+)(\d+(?:\.\d+){0,2})$`)

// parseTargets reads targets such as "es2020", "chrome100", "safari15.4".
func parseTargets(ts []string) (engineOptions, error) {
	var o engineOptions
	for _, t := range ts {
		t = strings.ToLower(strings.TrimSpace(t))
		if v, ok := esTargets[t]; ok {
			o.target = v
			continue
		}
		m := engineRe.FindStringSubmatch(t)
		var eng api.EngineName
		ok := m != nil
		if ok {
			eng, ok = engines[m[1]]
		}
		if !ok {
			return o, fmt.Errorf("target %q: use a language level (es2015 … es2024, esnext) or a browser and version: chrome100, edge100, firefox102, safari15.4, ios15, opera90", t)
		}
		o.engines = append(o.engines, api.Engine{Name: eng, Version: m[2]})
	}
	o.key = strings.Join(ts, ",")
	return o, nil
}

// esbuildOutput is what one esbuild run made.
type esbuildOutput struct {
	code, sourceMap []byte
	inputs          map[string]string // see bundleResult.Inputs
}

// loaders by extension, for files the plugin loads.
var loaders = map[string]api.Loader{
	".css": api.LoaderCSS, ".js": api.LoaderJS, ".mjs": api.LoaderJS, ".cjs": api.LoaderJS,
	".jsx": api.LoaderJSX, ".ts": api.LoaderTS, ".tsx": api.LoaderTSX, ".json": api.LoaderJSON,
}

// esbuild bundles b: its entry's imports resolved through the static
// folders, or its files joined.
func (r *run) esbuild(b Bundle, maps bool) (*esbuildOutput, error) {
	if kindOf(path.Ext(b.Name)) == "js" && len(b.Files) > 0 {
		return r.joinJS(b, maps)
	}
	out := &esbuildOutput{inputs: map[string]string{}}
	var mu sync.Mutex
	input := func(k, v string) {
		mu.Lock()
		out.inputs[k] = v
		mu.Unlock()
	}
	root, err := filepath.Abs(r.p.cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", b.Name, err)
	}
	opts := api.BuildOptions{
		Bundle:            true,
		Write:             false,
		Metafile:          true,
		LogLevel:          api.LogLevelSilent,
		AbsWorkingDir:     root,
		Outfile:           filepath.Join(root, "_bake_out", filepath.FromSlash(b.Name)),
		MinifyWhitespace:  r.p.cfg.Minify,
		MinifyIdentifiers: r.p.cfg.Minify,
		MinifySyntax:      r.p.cfg.Minify,
		Target:            r.p.engine.target,
		Engines:           r.p.engine.engines,
		Platform:          api.PlatformBrowser,
		Plugins:           []api.Plugin{r.plugin(b, input)},
	}
	switch b.Format {
	case "esm":
		opts.Format = api.FormatESModule
	case "cjs":
		opts.Format = api.FormatCommonJS
	default:
		opts.Format = api.FormatIIFE
	}
	if path.Ext(b.Name) == ".css" {
		opts.Format = api.FormatDefault
	}
	if maps {
		opts.Sourcemap = api.SourceMapExternal
	}
	if b.Entry != "" {
		opts.EntryPointsAdvanced = []api.EntryPoint{{InputPath: "/" + b.Entry}}
	} else {
		var src strings.Builder
		for _, f := range b.Files {
			fmt.Fprintf(&src, "@import %q;\n", "/"+f)
		}
		opts.Stdin = &api.StdinOptions{Contents: src.String(), ResolveDir: root, Sourcefile: b.Name, Loader: api.LoaderCSS}
	}
	res := api.Build(opts)
	if len(res.Errors) > 0 {
		return nil, r.messages(b, res.Errors)
	}
	for _, f := range res.OutputFiles {
		switch {
		case strings.HasSuffix(f.Path, ".map"):
			out.sourceMap = f.Contents
		case path.Ext(f.Path) == path.Ext(b.Name) || path.Ext(b.Name) == ".mjs" && path.Ext(f.Path) == ".js":
			out.code = f.Contents
		default:
			return nil, &bake.Error{File: b.File, Line: b.Line, Err: fmt.Errorf("bundle %q also makes %s: a script that imports a stylesheet makes a second file; make a CSS bundle of it instead", b.Name, filepath.Base(f.Path))}
		}
	}
	// Files esbuild read itself (node_modules) are inputs too.
	var meta struct {
		Inputs map[string]json.RawMessage `json:"inputs"`
	}
	if err := json.Unmarshal([]byte(res.Metafile), &meta); err != nil {
		return nil, fmt.Errorf("bundle %s: read esbuild's metafile: %w", b.Name, err)
	}
	for in := range meta.Inputs {
		if strings.Contains(in, ":") || in == "<stdin>" {
			continue // the plugin's namespaces, recorded as they load
		}
		f := filepath.Join(root, filepath.FromSlash(in))
		fi, err := os.Stat(f)
		if err != nil {
			return nil, fmt.Errorf("bundle %s: %w", b.Name, err)
		}
		sha, err := r.p.cache.fileHash(f, fi)
		if err != nil {
			return nil, fmt.Errorf("bundle %s: %w", b.Name, err)
		}
		input("file:"+f, sha)
	}
	return out, nil
}

// joinJS joins scripts in order and minifies them, as one file: each keeps
// the global scope it would have had as a <script> of its own.
func (r *run) joinJS(b Bundle, maps bool) (*esbuildOutput, error) {
	out := &esbuildOutput{inputs: map[string]string{}}
	var src strings.Builder
	for _, f := range b.Files {
		s := r.srcs[f]
		data, err := os.ReadFile(s.file)
		if err != nil {
			return nil, fmt.Errorf("bundle %s: %w", b.Name, err)
		}
		out.inputs["static:"+f] = s.sha
		src.Write(data)
		src.WriteString("\n;\n")
	}
	opts := r.transformOptions(b.Name)
	if maps {
		opts.Sourcemap = api.SourceMapExternal
	}
	res := api.Transform(src.String(), opts)
	if len(res.Errors) > 0 {
		return nil, r.messages(b, res.Errors)
	}
	out.code, out.sourceMap = res.Code, res.Map
	if !maps {
		out.sourceMap = nil
	}
	return out, nil
}

func (r *run) transformOptions(name string) api.TransformOptions {
	return api.TransformOptions{
		Loader:            loaders[strings.ToLower(path.Ext(name))],
		Sourcefile:        name,
		LogLevel:          api.LogLevelSilent,
		MinifyWhitespace:  r.p.cfg.Minify,
		MinifyIdentifiers: r.p.cfg.Minify,
		MinifySyntax:      r.p.cfg.Minify,
		Target:            r.p.engine.target,
		Engines:           r.p.engine.engines,
	}
}

// transformJS minifies one script, without bundling: its top-level names
// stay, as other scripts of the page may use them.
func (r *run) transformJS(name string, src string) ([]byte, error) {
	opts := r.transformOptions(name)
	opts.Sourcefile = "static:" + name // problems name the file
	res := api.Transform(src, opts)
	if len(res.Errors) > 0 {
		return nil, r.messages(Bundle{Name: name}, res.Errors)
	}
	return res.Code, nil
}

// messages turns esbuild's errors into problems naming file and line.
func (r *run) messages(b Bundle, msgs []api.Message) error {
	var errs []error
	for _, m := range msgs {
		e := &bake.Error{File: b.File, Line: b.Line, Err: fmt.Errorf("%s: %s", b.Name, m.Text)}
		if l := m.Location; l != nil {
			switch {
			case strings.HasPrefix(l.File, "static:"):
				if s, ok := r.srcs[strings.TrimPrefix(l.File, "static:")]; ok {
					e.File, e.Line = s.file, l.Line
				}
			case l.File != "" && l.File != "<stdin>" && !strings.Contains(l.File, ":"):
				e.File, e.Line = filepath.Join(r.p.cfg.Root, filepath.FromSlash(l.File)), l.Line
			}
			e.Err = errors.New(m.Text)
			if l.LineText != "" {
				e.Err = fmt.Errorf("%s: %s", m.Text, strings.TrimSpace(l.LineText))
			}
		}
		errs = append(errs, e)
	}
	return errors.Join(errs...)
}

// schemeRe matches URLs that are not files of the site: http:, data:,
// //host, #fragment.
var schemeRe = regexp.MustCompile(`^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//|#)`)

// plugin resolves and loads every import of a bundle through the static
// folders: stylesheets and scripts are inlined, other files (images,
// fonts) become their URLs, fingerprinted. Bare script imports ("lib")
// are left to esbuild, which finds them in node_modules.
func (r *run) plugin(b Bundle, input func(k, v string)) api.Plugin {
	bundleURL := "/" + b.Name
	return api.Plugin{Name: "bake", Setup: func(pb api.PluginBuild) {
		pb.OnResolve(api.OnResolveOptions{Filter: `.*`}, func(args api.OnResolveArgs) (api.OnResolveResult, error) {
			spec := args.Path
			if schemeRe.MatchString(spec) {
				return api.OnResolveResult{Path: spec, External: true}, nil
			}
			importer := ""
			if args.Namespace == "static" {
				importer = args.Importer
			}
			js := args.Kind == api.ResolveJSImportStatement || args.Kind == api.ResolveJSRequireCall ||
				args.Kind == api.ResolveJSDynamicImport || args.Kind == api.ResolveJSRequireResolve
			bare := !strings.HasPrefix(spec, ".") && !strings.HasPrefix(spec, "/")
			if js && bare && args.Namespace != "static" {
				return api.OnResolveResult{}, nil // node_modules, from a node_modules file
			}
			clean, suffix := spec, ""
			if i := strings.IndexAny(spec, "?#"); i >= 0 {
				clean, suffix = spec[:i], spec[i:]
			}
			name, err := resolveName(importer, clean)
			if err != nil {
				return api.OnResolveResult{}, err
			}
			code := kindOf(path.Ext(name)) == "css" || kindOf(path.Ext(name)) == "js" || path.Ext(name) == ".json"
			if args.Kind == api.ResolveCSSURLToken || !code {
				r.mu.Lock()
				a, ok := r.set.assets[name]
				r.mu.Unlock()
				if !ok {
					if code {
						return api.OnResolveResult{}, fmt.Errorf("url(%s): a stylesheet or script cannot be named by url(); @import it", spec)
					}
					return api.OnResolveResult{}, fmt.Errorf("%s: no such file in the static folders", spec)
				}
				input("ref:"+name, a.Path)
				if args.Kind == api.ResolveCSSURLToken || args.Kind == api.ResolveCSSImportRule {
					return api.OnResolveResult{Path: relURL(bundleURL, a.Path) + suffix, External: true}, nil
				}
				return api.OnResolveResult{Path: name, Namespace: "url", PluginData: r.p.cfg.URLPrefix + strings.TrimPrefix(bake.EscapePath(a.Path), "/")}, nil
			}
			if _, ok := r.srcs[name]; !ok {
				if js && bare {
					return api.OnResolveResult{}, nil // node_modules
				}
				return api.OnResolveResult{}, fmt.Errorf("%s: no such file in the static folders", spec)
			}
			return api.OnResolveResult{Path: name, Namespace: "static"}, nil
		})
		pb.OnLoad(api.OnLoadOptions{Filter: `.*`, Namespace: "static"}, func(args api.OnLoadArgs) (api.OnLoadResult, error) {
			s := r.srcs[args.Path]
			data, err := os.ReadFile(s.file)
			if err != nil {
				return api.OnLoadResult{}, err
			}
			input("static:"+s.name, s.sha)
			text := string(data)
			l, ok := loaders[strings.ToLower(path.Ext(s.name))]
			if !ok {
				l = api.LoaderJS
			}
			return api.OnLoadResult{Contents: &text, Loader: l, ResolveDir: filepath.Dir(s.file)}, nil
		})
		pb.OnLoad(api.OnLoadOptions{Filter: `.*`, Namespace: "url"}, func(args api.OnLoadArgs) (api.OnLoadResult, error) {
			text := "export default " + strconv.Quote(args.PluginData.(string)) + ";"
			return api.OnLoadResult{Contents: &text, Loader: api.LoaderJS}, nil
		})
	}}
}
