// Package serve serves a build folder over HTTP for preview, and reloads the
// browser when the build changes.
//
// [FileServer] maps each request path to a file with [bake.FileName], the one
// path mapping that build and publish use too, so that a preview shows exactly
// what a bucket will. It opens files through an [os.Root], never serves bake's
// own files or dotfiles, answers conditional and range requests, and serves
// precompressed siblings (name.br, name.gz) or compresses text itself. Hot
// files are kept in memory with their compressed forms, made once per version
// of a file, and the build's manifest is read once per change of its index.
// [FileServer.Lookup] hands those hits to another HTTP server, which answers
// them itself and passes the rest to ServeHTTP (bake serve answers them with
// fasthttp).
//
// [Reloader] is a hub of server-sent events: mount it at [ReloadPath], wrap the
// site's handler with [Reloader.Inject], and call [Reloader.Notify] after each
// rebuild:
//
//	files, err := serve.NewFileServer("_site", serve.FileServerOptions{})
//	if err != nil {
//		return err
//	}
//	rl := serve.NewReloader()
//	mux := http.NewServeMux()
//	mux.Handle(serve.ReloadPath, rl)
//	mux.Handle("/", rl.Inject(files))
package serve
