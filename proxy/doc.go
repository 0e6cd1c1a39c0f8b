// Package proxy is a caching reverse proxy that bakes any site: it sits in
// front of an origin of any stack (Django, Rails, WordPress, a Go app) and
// saves each page the first time the origin answers it with a public 200,
// into a bake build folder, where it is served from then on as a flat file.
// [New] makes one in front of an origin server; [NewMiddleware] does the
// same inside a Go program, around its handler, called in process. Both
// share every rule below.
//
// Saved pages enter the build's index like built ones (route "proxy", a dep
// url:PATH, the deps a handler records with [bake.Track], and those on the
// rows of [Options.Rows]), so bake publish, releases and rollback work on
// them unchanged.
// As StaticGenerator does for Django, a page is saved only when nothing makes
// it personal or uncertain:
//
//   - the path matches one of [Options.Save] and has no query string;
//   - the request is a GET with no Authorization and no Cookie other than
//     those named in [Options.AllowCookies];
//   - the answer is a 200 without Set-Cookie, without Cache-Control private
//     or no-store, and with no Vary but Accept-Encoding.
//
// Redirects, 404s, errors and personal pages are passed through and never
// saved: a row not yet published must never become a page. Concurrent
// requests for one missing path make one origin request. With a TTL, a saved
// page older than it (less a random jitter, so that expiries do not come all
// at once) is answered as it is and fetched again in the background; an
// origin that fails keeps the saved page (stale-if-error), one that answers
// 404 or 410 removes it.
//
// [Purge] removes saved pages, [Proxy.Warm] saves pages before the first
// visitor asks; POST [PurgePath] does what Purge does, for a client that
// holds [Options.PurgeToken].
package proxy
