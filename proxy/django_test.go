package proxy

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bakehq/bake/internal/testenv"
	"github.com/google/go-cmp/cmp"
)

// djangoApp is a tiny Django project: settings, URLs and views. Each view
// counts its renders per path, so that a page answered twice with the
// same count was answered once by Django and then from the saved file.
var djangoApp = map[string]string{
	"settings.py": `
SECRET_KEY = "bake-test-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "urls"
INSTALLED_APPS = []
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
]
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
DATABASES = {}
USE_TZ = True
`,
	"urls.py": `
from django.urls import path
import views

urlpatterns = [
    path("", views.home),
    path("posts/<slug:slug>/", views.post),
    path("account/", views.account),
]
`,
	"views.py": `
import threading
from django.http import HttpResponse, Http404

_lock = threading.Lock()
_renders = {}

def _count(request):
    with _lock:
        _renders[request.path] = _renders.get(request.path, 0) + 1
        return _renders[request.path]

def home(request):
    return HttpResponse("<h1>home</h1><p>render %d</p>" % _count(request))

def post(request, slug):
    if slug == "draft":
        raise Http404("not published yet")
    return HttpResponse("<h1>post %s</h1><p>render %d</p>" % (slug, _count(request)))

def account(request):
    # A session: Django answers with Set-Cookie and Vary: Cookie.
    request.session["visits"] = request.session.get("visits", 0) + 1
    return HttpResponse("<p>account, render %d</p>" % _count(request))
`,
}

// TestDjangoOrigin runs bake's proxy in front of a real Django app (Debian's
// python3-django, runserver): a public page is saved and then answered
// from the build folder; a page that sets a session cookie, a 404 (a post
// not yet published) and APPEND_SLASH's redirect go through every time and
// are never saved.
func TestDjangoOrigin(t *testing.T) {
	python := testenv.Django(t)
	app := t.TempDir()
	for name, src := range djangoApp {
		if err := os.WriteFile(filepath.Join(app, name), []byte(strings.TrimPrefix(src, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	addr := testenv.FreeAddr(t)
	cmd := exec.Command(python, "-m", "django", "runserver", "--noreload", addr)
	cmd.Dir = app
	cmd.Env = append(os.Environ(), "DJANGO_SETTINGS_MODULE=settings", "PYTHONPATH="+app, "PYTHONDONTWRITEBYTECODE=1")
	testenv.StartProcess(t, cmd, addr)

	u, _ := url.Parse("http://" + addr)
	dir := filepath.Join(t.TempDir(), "_site")
	p, err := New(t.Context(), Options{Origin: u, Dir: dir, Save: []string{"/", "/posts/*/", "/account/"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	ps := httptestServer(t, p)

	tests := []struct {
		path   string
		status int
		body   []string // the first answer's, then the second's
		cookie bool
	}{
		{path: "/posts/hello/", status: 200, body: []string{"render 1", "render 1"}},
		{path: "/", status: 200, body: []string{"render 1", "render 1"}},
		{path: "/account/", status: 200, body: []string{"render 1", "render 2"}, cookie: true},
		{path: "/posts/draft/", status: 404, body: []string{"", ""}},
		{path: "/posts/hello", status: 301, body: []string{"", ""}},
	}
	for _, tt := range tests {
		for i := range 2 {
			resp, body := get(t, ps+tt.path, nil)
			if resp.StatusCode != tt.status {
				t.Errorf("%s #%d: status %d, want %d", tt.path, i+1, resp.StatusCode, tt.status)
			}
			if !strings.Contains(body, tt.body[i]) {
				t.Errorf("%s #%d: body %q, want it to hold %q", tt.path, i+1, body, tt.body[i])
			}
			if got := resp.Header.Get("Set-Cookie") != ""; got != tt.cookie {
				t.Errorf("%s #%d: Set-Cookie %q", tt.path, i+1, resp.Header.Get("Set-Cookie"))
			}
		}
	}
	if resp, _ := get(t, ps+"/posts/hello", nil); resp.Header.Get("Location") != "/posts/hello/" {
		t.Errorf("redirect to %q, want /posts/hello/", resp.Header.Get("Location"))
	}
	want := map[string]string{"/": "proxy url:/", "/posts/hello/": "proxy url:/posts/hello/"}
	if diff := cmp.Diff(want, saved(t, dir)); diff != "" {
		t.Errorf("saved pages (-want +got):\n%s", diff)
	}
	for _, name := range []string{"account", "posts/draft"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("%s was saved", name)
		}
	}
	// Warm fetches a page again: Django renders it a second time.
	res, err := p.Warm(t.Context(), []string{"/posts/hello/", "/posts/draft/"})
	if err != nil {
		t.Fatal(err)
	}
	wantWarm := []Warmed{{Path: "/posts/hello/", Status: 200, Saved: true}, {Path: "/posts/draft/", Status: 404, Why: "status 404 Not Found"}}
	if diff := cmp.Diff(wantWarm, res); diff != "" {
		t.Errorf("warm (-want +got):\n%s", diff)
	}
	if _, body := get(t, ps+"/posts/hello/", nil); !strings.Contains(body, "render 2") {
		t.Errorf("after warm: %q, want render 2", body)
	}
}

// httptestServer serves h on loopback until the test ends and returns its
// URL.
func httptestServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
