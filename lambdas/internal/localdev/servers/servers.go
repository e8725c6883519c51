// Package servers starts the real local backends (DynamoDB Local, redis-server) on
// free loopback ports and stops them again. The integration tests and the local
// API both use it; nothing here runs in AWS.
package servers

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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

// DynamoLocalOrigin is the one origin DynamoDB Local's CORS allows: a name
// under .invalid (RFC 2606), which no browser page is served from.
const DynamoLocalOrigin = "http://dynamodb-local.invalid"

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
	// DynamoDB Local has no bind option: it listens on every interface (the
	// port is random and lives as long as the run; docs/testing.md). Its
	// CORS allow-list defaults to "*"; it allows only DynamoLocalOrigin,
	// which no page can have, so no web page the developer opens is let in.
	// A heap of 2 GiB: the expiry benchmark's backlogs of 10,000 orders fill
	// 512 MiB, after which the JVM spends its time collecting.
	args := []string{"-Xmx2g", "-Djava.library.path=" + filepath.Join(dir, "DynamoDBLocal_lib"), "-jar", filepath.Join(dir, "DynamoDBLocal.jar"),
		"-port", fmt.Sprint(port), "-disableTelemetry", "-cors", DynamoLocalOrigin}
	if dataDir == "" {
		args = append(args, "-inMemory")
	} else {
		args = append(args, "-dbPath", dataDir, "-sharedDb")
	}
	return start(ctx, "dynamodb-local", port, log, nil, "java", args...)
}

// start runs bin with args (and env added to this process's environment) in
// its own process group, and waits until it accepts connections on port.
func start(ctx context.Context, name string, port int, log io.Writer, env []string, bin string, args ...string) (*Process, error) {
	cmd := exec.Command(bin, args...)
	// Out of the work tree: DynamoDB Local writes its telemetry id file
	// (dynamodb-local-metadata.json) into its working directory.
	cmd.Dir = os.TempDir()
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
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

// Redis is a one-node redis-server cluster that owns every slot, with TLS (a
// certificate made at start) and one ACL user with a password: the cluster,
// TLS and authentication paths of ElastiCache Serverless.
type Redis struct {
	*Process
	Addr     string // 127.0.0.1:PORT
	User     string
	Password string
	TLS      *tls.Config // trusts the server's certificate

	dir     string
	port    int
	log     io.Writer
	slotted bool // the node owns the slots (after the first start)
}

// CAFile is the PEM file of the certificate the server presents (its own CA).
func (r *Redis) CAFile() string { return filepath.Join(r.dir, "cert.pem") }

// StartRedis starts redis-server in dir (made if missing) for user with the
// given ACL access string.
func StartRedis(ctx context.Context, dir, user, access string, log io.Writer) (*Redis, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, errors.New("redis-server not found (Debian: apt-get install redis-server; .ci/run installs it)")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	pool, err := writeCert(dir)
	if err != nil {
		return nil, err
	}
	pw := make([]byte, 16)
	_, _ = rand.Read(pw)
	r := &Redis{Addr: fmt.Sprintf("127.0.0.1:%d", port), User: user, Password: hex.EncodeToString(pw),
		TLS: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}, dir: dir, port: port, log: log}
	conf := fmt.Sprintf(`port 0
bind 127.0.0.1
tls-port %d
tls-cert-file %[2]s/cert.pem
tls-key-file %[2]s/key.pem
tls-ca-cert-file %[2]s/cert.pem
tls-auth-clients no
tls-cluster yes
bind 127.0.0.1
cluster-enabled yes
cluster-announce-ip 127.0.0.1
cluster-config-file %[2]s/nodes.conf
save ""
appendonly no
shutdown-on-sigterm save
loglevel warning
dir %[2]s
user default off
user %s %s >%s
user admin on >%[5]s ~* +@all
`, port, dir, user, access, r.Password)
	if err := os.WriteFile(filepath.Join(dir, "redis.conf"), []byte(conf), 0o600); err != nil {
		return nil, err
	}
	// One node owns every slot. nodes.conf remembers them, so a server that
	// kept its data (DATA_DIR) has them already.
	_, err = os.Stat(filepath.Join(dir, "nodes.conf"))
	r.slotted = err == nil
	if err := r.Start(ctx); err != nil {
		return nil, err
	}
	if !r.slotted {
		if _, err := r.cli(ctx, "CLUSTER", "ADDSLOTSRANGE", "0", "16383"); err != nil {
			r.Stop()
			return nil, err
		}
		r.slotted = true
		if err := r.waitClusterOK(ctx); err != nil {
			r.Stop()
			return nil, err
		}
	}
	return r, nil
}

// Start starts the server (again, after Stop, on the same port and with the
// same slots) and waits until the cluster answers.
func (r *Redis) Start(ctx context.Context) error {
	p, err := start(ctx, "redis-server", r.port, r.log, nil, "redis-server", filepath.Join(r.dir, "redis.conf"))
	if err != nil {
		return err
	}
	r.Process = p
	r.Endpoint = r.Addr
	if r.slotted {
		return r.waitClusterOK(ctx) // the slots are known already
	}
	return nil
}

// waitClusterOK waits until the node reports cluster_state:ok, which follows
// the slot assignment by up to a couple of seconds.
func (r *Redis) waitClusterOK(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := r.cli(ctx, "CLUSTER", "INFO")
		if err == nil && bytes.Contains(out, []byte("cluster_state:ok")) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis cluster not ok after 30 s: %v %s", err, out)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// cli runs one setup command through redis-cli as "admin", a user that exists
// for setup alone: the cart's user may not run CLUSTER ADDSLOTSRANGE.
// AddUser adds an ACL user with the given access string (as ElastiCache
// gives it: on, keys, commands) and a fresh password, which it returns.
func (r *Redis) AddUser(ctx context.Context, name, access string) (string, error) {
	pw := make([]byte, 16)
	_, _ = rand.Read(pw)
	password := hex.EncodeToString(pw)
	args := append([]string{"ACL", "SETUSER", name, "reset"}, strings.Fields(access)...)
	if _, err := r.cli(ctx, append(args, ">"+password)...); err != nil {
		return "", err
	}
	return password, nil
}

func (r *Redis) cli(ctx context.Context, args ...string) ([]byte, error) {
	base := []string{"--tls", "--cacert", filepath.Join(r.dir, "cert.pem"), "-h", "127.0.0.1", "-p", fmt.Sprint(r.port),
		"--user", "admin", "--pass", r.Password, "--no-auth-warning"}
	out, err := exec.CommandContext(ctx, "redis-cli", append(base, args...)...).CombinedOutput()
	if err != nil || bytes.HasPrefix(out, []byte("ERR")) || bytes.HasPrefix(out, []byte("NOPERM")) {
		return out, fmt.Errorf("redis-cli %v: %v: %s", args, err, out)
	}
	return out, nil
}

// writeCert writes a self-signed certificate for 127.0.0.1 and its key, and
// returns a pool that trusts it.
func writeCert(dir string) (*x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "localdev redis"},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(30 * 24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), certPEM, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	return pool, nil
}

// Pause freezes the server (SIGSTOP): it keeps its port but answers nothing,
// like a host that hangs. Resume undoes it.
func (p *Process) Pause() error {
	if err := syscall.Kill(-p.cmd.Process.Pid, syscall.SIGSTOP); err != nil {
		return err
	}
	// The signal is delivered asynchronously: wait until the process is
	// stopped ("T" in /proc), so that no request slips through after Pause.
	for range 100 {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
		if err != nil {
			return nil // not Linux: the signal will do
		}
		if f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:])); len(f) > 0 && f[0] == "T" {
			time.Sleep(20 * time.Millisecond) // let every thread settle
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("%s did not stop", p.Name)
}

// Resume lets a paused server go on (SIGCONT).
func (p *Process) Resume() error { return syscall.Kill(-p.cmd.Process.Pid, syscall.SIGCONT) }

// S3 is VersityGW serving a directory as S3, with SigV4 verification and
// bucket notifications posted to a webhook.
type S3 struct {
	*Process
	AccessKey, SecretKey string
}

// VersityBinary finds VersityGW: $VERSITYGW, or dist/versitygw (built by
// `make dist/versitygw` from tools/versitygw) in this directory or a parent.
func VersityBinary() (string, error) {
	if p := os.Getenv("VERSITYGW"); p != "" {
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		cand := filepath.Join(dir, "dist", "versitygw")
		if _, err := os.Stat(cand); err == nil {
			return cand, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("VersityGW not found: run `make dist/versitygw` at the repository root, or set VERSITYGW")
		}
		dir = parent
	}
}

// StartS3 starts VersityGW over dir (made if missing) on a free port. Objects
// created in any bucket are announced to webhook, when set.
func StartS3(ctx context.Context, dir, webhook string, log io.Writer) (*S3, error) {
	bin, err := VersityBinary()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	key := make([]byte, 20)
	_, _ = rand.Read(key)
	s := &S3{AccessKey: "local", SecretKey: hex.EncodeToString(key)}
	args := []string{"--quiet", "--port", fmt.Sprintf("127.0.0.1:%d", port)}
	if webhook != "" {
		args = append(args, "--event-webhook-url", webhook)
	}
	args = append(args, "posix", dir)
	p, err := start(ctx, "versitygw", port, log, []string{"ROOT_ACCESS_KEY=" + s.AccessKey, "ROOT_SECRET_KEY=" + s.SecretKey}, bin, args...)
	if err != nil {
		return nil, err
	}
	s.Process = p
	return s, nil
}
