package sqltest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Server is a PostgreSQL server of the test's own (initdb and pg_ctl from
// the installed PostgreSQL), which the test may restart to play an outage.
type Server struct {
	// URL connects as postgres, without a password, to database postgres.
	URL  string
	t    testing.TB
	bin  string
	data string
	log  string
	cred *syscall.Credential
}

// StartServer creates a fresh cluster in a temporary directory, starts it on
// a free loopback port, and stops it and removes the directory when the test
// ends. It looks for the binaries in /usr/lib/postgresql/*/bin (the Debian
// packages), then on PATH; without them it skips, or fails when
// HUB_TEST_REQUIRE_POSTGRES=1. Run as root, the server runs as the postgres
// user (PostgreSQL refuses root).
func StartServer(t testing.TB) *Server {
	t.Helper()
	bin := serverBinDir()
	if bin == "" {
		msg := "sqltest: no PostgreSQL server binaries (initdb, pg_ctl) in /usr/lib/postgresql/*/bin or on PATH; install Debian's postgresql package"
		if os.Getenv(EnvRequirePostgres) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	s := &Server{t: t, bin: bin}
	dir, err := os.MkdirTemp("", "hubpg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	s.data, s.log = filepath.Join(dir, "data"), filepath.Join(dir, "postgres.log")
	if err := os.Mkdir(s.data, 0o700); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("sqltest: running as root needs a postgres user for the server: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		for _, p := range []string{dir, s.data} {
			if err := os.Chown(p, uid, gid); err != nil {
				t.Fatal(err)
			}
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s.run("initdb", "-D", s.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
	// pg_ctl keeps these options in postmaster.opts: restart reuses them.
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories=%s -c fsync=off", port, s.data)
	s.run("pg_ctl", "-D", s.data, "-l", s.log, "-o", opts, "-w", "-t", "60", "start")
	t.Cleanup(func() { _ = s.pgctl("-m", "immediate", "-w", "stop") })
	s.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	db, err := sql.Open("pgx", s.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("sqltest: the server does not answer: %v\n%s", err, s.Log())
	}
	return s
}

// Restart restarts the server with pg_ctl restart -m fast: connections are
// terminated, transactions in flight roll back, and the server is back when
// Restart returns.
func (s *Server) Restart() {
	s.t.Helper()
	if err := s.pgctl("-m", "fast", "-w", "-t", "60", "restart"); err != nil {
		s.t.Fatalf("sqltest: pg_ctl restart: %v\n%s", err, s.Log())
	}
}

// Log returns the server's log so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.log)
	return string(b)
}

// pgctl runs pg_ctl on the cluster with the arguments.
func (s *Server) pgctl(args ...string) error {
	cmd := s.command("pg_ctl", append([]string{"-D", s.data, "-l", s.log}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}

// run runs a binary of the server and fails the test when it fails.
func (s *Server) run(name string, args ...string) {
	s.t.Helper()
	if out, err := s.command(name, args...).CombinedOutput(); err != nil {
		s.t.Fatalf("sqltest: %s: %v\n%s\n%s", name, err, out, s.Log())
	}
}

func (s *Server) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	cmd.Dir = os.TempDir()
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	return cmd
}

// serverBinDir is the directory of initdb and pg_ctl: the newest
// /usr/lib/postgresql/<version>/bin that has them, else the PATH's, else "".
func serverBinDir() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if executable(filepath.Join(d, "initdb")) && executable(filepath.Join(d, "pg_ctl")) {
			return d
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if d := filepath.Dir(p); executable(filepath.Join(d, "pg_ctl")) {
			return d
		}
	}
	return ""
}

// version is the major version in /usr/lib/postgresql/<version>/bin.
func version(dir string) int {
	n, _ := strconv.Atoi(strings.Split(filepath.Base(filepath.Dir(dir)), ".")[0])
	return n
}

func executable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}
