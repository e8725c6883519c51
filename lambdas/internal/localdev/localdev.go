// Package localdev starts the real local backends (DynamoDB Local for now) on
// free loopback ports and stops them again. The integration tests and the local
// API both use it; nothing here runs in AWS.
package localdev

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Process is a backend server started by this package.
type Process struct {
	Name     string
	Endpoint string // http://127.0.0.1:PORT
	cmd      *exec.Cmd
	done     chan struct{}
}

// Stop ends the server and its children and waits for it to exit.
func (p *Process) Stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	// The server runs in its own process group: signal the whole group so that
	// nothing it started outlives it.
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// FreePort asks the kernel for a free loopback port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// DynamoDir finds DynamoDB Local: $DYNAMODB_LOCAL_DIR, or the copy that
// `npm ci` put under node_modules in this directory or a parent.
func DynamoDir() (string, error) {
	if d := os.Getenv("DYNAMODB_LOCAL_DIR"); d != "" {
		return d, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		cand := filepath.Join(dir, "node_modules", "amplify-dynamodb-simulator", "emulator")
		if _, err := os.Stat(filepath.Join(cand, "DynamoDBLocal.jar")); err == nil {
			return cand, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("DynamoDB Local not found: run `npm ci` at the repository root (package amplify-dynamodb-simulator) or set DYNAMODB_LOCAL_DIR")
		}
		dir = parent
	}
}

// StartDynamo starts DynamoDB Local on a free port, in memory unless dataDir is
// set, and waits until it accepts connections.
func StartDynamo(ctx context.Context, dataDir string, log io.Writer) (*Process, error) {
	dir, err := DynamoDir()
	if err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("java"); err != nil {
		return nil, errors.New("DynamoDB Local needs Java 17 or later on PATH (Debian: apt-get install openjdk-17-jre-headless)")
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	args := []string{"-Xmx512m", "-Djava.library.path=" + filepath.Join(dir, "DynamoDBLocal_lib"), "-jar", filepath.Join(dir, "DynamoDBLocal.jar"),
		"-port", fmt.Sprint(port), "-disableTelemetry"}
	if dataDir == "" {
		args = append(args, "-inMemory")
	} else {
		args = append(args, "-dbPath", dataDir, "-sharedDb")
	}
	return start(ctx, "dynamodb-local", port, log, "java", args...)
}

func start(ctx context.Context, name string, port int, log io.Writer, bin string, args ...string) (*Process, error) {
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{Name: name, Endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return p, nil
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("%s exited before it was ready", name)
		case <-ctx.Done():
			p.Stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.Stop()
			return nil, fmt.Errorf("%s not ready on %s after 60 s", name, addr)
		}
	}
}
