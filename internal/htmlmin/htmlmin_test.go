package htmlmin

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const page = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>News   &amp; views</title>
    <!-- a comment -->
    <style>
      body {  color : #ff0000 ; }
    </style>
    <script type="application/ld+json">
      { "@context": "https://schema.org",  "@type": "NewsArticle" }
    </script>
  </head>
  <body>

    <h1 class="title">  Hello  </h1>
    <pre>  keep
    this  </pre>
    <p>One <em>two</em>   three</p>
    <script>
      var   x = 1 + 2;
      console.log( x );
    </script>
  </body>
</html>
`

func TestMinify(t *testing.T) {
	got, err := New().Append(nil, []byte(page))
	if err != nil {
		t.Fatal(err)
	}
	want := `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>News & views</title>` +
		`<style>body{color:red}</style><script type="application/ld+json">{"@context":"https://schema.org","@type":"NewsArticle"}</script></head>` +
		`<body><h1 class="title">Hello</h1><pre>  keep
    this  </pre><p>One <em>two</em> three</p><script>var x=1+2;console.log(x)</script></body></html>`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("minified (-want +got):\n%s", diff)
	}
	if len(got) >= len(page) {
		t.Errorf("%d bytes, not smaller than %d", len(got), len(page))
	}
}

// TestStable: the same page gives the same bytes, from one minifier used
// by many goroutines on other pages in between, and minifying the output
// again changes nothing.
func TestStable(t *testing.T) {
	m := New()
	want, err := m.Append(nil, []byte(page))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for i := range 8 {
		wg.Go(func() {
			other := strings.Repeat("<p> other   page </p>\n", i+1)
			for range 50 {
				if _, err := m.Append(nil, []byte(other)); err != nil {
					errs <- err.Error()
				}
				got, err := m.Append(nil, []byte(page))
				if err != nil || !bytes.Equal(got, want) {
					errs <- "different bytes"
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	again, err := m.Append(nil, want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, want) {
		t.Errorf("minifying the output changed it:\n%s\n%s", want, again)
	}
}

func TestAppend(t *testing.T) {
	got, err := New().Append([]byte("prefix:"), []byte("<p>  a  </p>"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "prefix:<p>a</p>" {
		t.Errorf("got %q", got)
	}
}
