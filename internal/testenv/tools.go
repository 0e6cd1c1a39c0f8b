package testenv

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Programs the tests start themselves, as real peers of bake: nginx in front
// of bake proxy, Django behind it. scripts/test installs them as root
// (Debian's nginx and python3-django); a test that needs one skips when it
// is missing, or fails when InCI, as for the services.
const (
	// NginxEnv names the variable holding the nginx binary to use; if unset,
	// nginx on PATH, then /usr/sbin/nginx.
	NginxEnv = "BAKE_TEST_NGINX"
	// PythonEnv names the variable holding the Python 3 interpreter that
	// has Django; if unset, /usr/bin/python3 (Debian's, where
	// python3-django installs), then python3 on PATH.
	PythonEnv = "BAKE_TEST_PYTHON"
)

// missing skips t, or fails it when InCI, for a program that is not there.
func missing(t testing.TB, what, pkg string) {
	t.Helper()
	msg := "testenv: no " + what + " for this test"
	if InCI() {
		t.Fatal(msg + " (in CI a missing program is an error; scripts/test installs Debian's " + pkg + ")")
	}
	t.Skip(msg + "; install Debian's " + pkg + ", or run scripts/test as root, which does")
}

// Nginx returns the path of the nginx binary. When there is none it skips
// t, or fails t when InCI.
func Nginx(t testing.TB) string {
	t.Helper()
	for _, c := range []string{os.Getenv(NginxEnv), "nginx", "/usr/sbin/nginx"} {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	missing(t, "nginx", "nginx")
	return ""
}

// Django returns the path of a Python 3 interpreter that imports django.
// When there is none it skips t, or fails t when InCI.
func Django(t testing.TB) string {
	t.Helper()
	for _, c := range []string{os.Getenv(PythonEnv), "/usr/bin/python3", "python3"} {
		if c == "" {
			continue
		}
		p, err := exec.LookPath(c)
		if err != nil {
			continue
		}
		if exec.Command(p, "-c", "import django").Run() == nil {
			return p
		}
	}
	missing(t, "Python 3 with Django", "python3-django")
	return ""
}

// FreeAddr returns a loopback address, 127.0.0.1:PORT, with a port free at
// the time of the call, for a program that takes its address as an
// argument. Another process may take the port before it does; tests live
// with that small chance.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// WaitListening waits until addr accepts TCP connections, or fails t after
// timeout, printing log (the program's output) when it is not nil. exited,
// when not nil, is closed when the program exits, which fails t at once.
func WaitListening(t testing.TB, addr string, timeout time.Duration, exited <-chan struct{}, log func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		out := ""
		if log != nil {
			out = "\n" + log()
		}
		select {
		case <-exited:
			t.Fatalf("testenv: the program meant to listen on %s exited%s", addr, out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: nothing listens on %s after %s%s", addr, timeout, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// NginxServer is an nginx started by [StartNginx].
type NginxServer struct {
	// Addr is where it listens: 127.0.0.1:PORT.
	Addr string
	// Dir holds its configuration (nginx.conf), pid file, logs and temp
	// folders.
	Dir string
}

// ErrorLog returns what nginx wrote to its error log so far.
func (n NginxServer) ErrorLog() string {
	b, _ := os.ReadFile(filepath.Join(n.Dir, "error.log"))
	return string(b)
}

// StartNginx starts nginx (see [Nginx]) in the foreground as the current
// user, with conf as the content of its http block (upstream and server
// blocks) in which every "{{listen}}" is replaced by a free loopback
// address. Its pid file, error and access logs and temp folders are in a
// temp folder, with the configuration; Debian's mime.types is included when
// present. It waits until nginx listens and stops it when the test ends.
// When nginx is missing it skips t, or fails t when InCI.
func StartNginx(t testing.TB, conf string) NginxServer {
	t.Helper()
	bin := Nginx(t)
	n := NginxServer{Addr: FreeAddr(t), Dir: t.TempDir()}
	var b strings.Builder
	b.WriteString("daemon off;\nmaster_process on;\nworker_processes 1;\n")
	if os.Geteuid() == 0 {
		// Workers would otherwise drop to nobody, who cannot read a test's
		// temp folders (0700).
		name, group := "root", "root"
		if u, err := user.Current(); err == nil {
			name = u.Username
			if g, err := user.LookupGroupId(u.Gid); err == nil {
				group = g.Name
			}
		}
		fmt.Fprintf(&b, "user %s %s;\n", name, group)
	}
	fmt.Fprintf(&b, "pid %s;\nerror_log %s info;\nevents { worker_connections 256; }\nhttp {\n",
		filepath.Join(n.Dir, "nginx.pid"), filepath.Join(n.Dir, "error.log"))
	if _, err := os.Stat("/etc/nginx/mime.types"); err == nil {
		b.WriteString("include /etc/nginx/mime.types;\n")
	} else {
		b.WriteString("types { text/html html; text/css css; application/javascript js; }\n")
	}
	b.WriteString("default_type application/octet-stream;\n")
	fmt.Fprintf(&b, "access_log %s;\n", filepath.Join(n.Dir, "access.log"))
	for _, tmp := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&b, "%s_temp_path %s;\n", tmp, filepath.Join(n.Dir, tmp))
	}
	b.WriteString(strings.ReplaceAll(conf, "{{listen}}", n.Addr))
	b.WriteString("\n}\n")
	file := filepath.Join(n.Dir, "nginx.conf")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	test := exec.Command(bin, "-t", "-q", "-p", n.Dir, "-e", filepath.Join(n.Dir, "error.log"), "-c", file)
	test.Stdout, test.Stderr = &out, &out
	if err := test.Run(); err != nil {
		t.Fatalf("testenv: nginx -t: %v\n%s\n%s", err, out.String(), b.String())
	}
	cmd := exec.Command(bin, "-p", n.Dir, "-e", filepath.Join(n.Dir, "error.log"), "-c", file)
	stdout, err := os.Create(filepath.Join(n.Dir, "stdout.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	cmd.Stdout, cmd.Stderr = stdout, stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("testenv: start nginx: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	// SIGQUIT: a graceful stop; the master takes its workers along.
	t.Cleanup(func() { stopProcess(cmd, quitSignal, exited) })
	WaitListening(t, n.Addr, 10*time.Second, exited, func() string {
		b, _ := os.ReadFile(stdout.Name())
		return string(b) + n.ErrorLog()
	})
	return n
}

// StartProcess starts cmd, whose standard output and error go to a file in a
// temp folder, waits until it listens on addr (up to 30 seconds), and stops
// it when the test ends (SIGTERM, then SIGKILL after 5 seconds). On failure the test shows what it printed.
func StartProcess(t testing.TB, cmd *exec.Cmd, addr string) {
	t.Helper()
	logf, err := os.Create(filepath.Join(t.TempDir(), "output.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("testenv: start %s: %v", cmd.Path, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	output := func() string {
		b, _ := os.ReadFile(logf.Name())
		return string(b)
	}
	t.Cleanup(func() {
		// Asked first: a killed nginx master left its workers running
		// after the test.
		stopProcess(cmd, stopSignal, exited)
		if t.Failed() {
			t.Logf("%s printed:\n%s", filepath.Base(cmd.Path), output())
		}
	})
	WaitListening(t, addr, 30*time.Second, exited, output)
}

// stopProcess sends cmd's process sig and waits for exited to close; it
// kills the process if it is still running 5 seconds later.
func stopProcess(cmd *exec.Cmd, sig os.Signal, exited <-chan struct{}) {
	cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-exited
	}
}
