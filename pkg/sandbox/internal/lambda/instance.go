package lambda

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/logs"
)

// initTimeout bounds the init phase (until the runtime first asks for an
// event), as Lambda's 10 seconds do.
const initTimeout = 10 * time.Second

// logPoll is how often an instance's output is collected between
// invocations; an invocation's own output is collected when it ends.
const logPoll = 250 * time.Millisecond

// instance is one execution environment: a bootstrap process and the
// Runtime API it talks to.
type instance struct {
	s   *Service
	fn  *function
	ver *version
	gen int
	cfg config
	c   *code

	id, stream string
	// spawned is when the bootstrap started: its init lasts until the first /next.
	spawned time.Time

	// Pool state, guarded by s.mu.
	busy, retired bool
	idleTimer     *time.Timer
	credsExpire   time.Time

	cmd     *exec.Cmd
	srv     *http.Server
	next    chan *invocation // hands an event to the runtime's /next
	initErr chan *fnError    // what the runtime posted to /init/error
	dead    chan struct{}    // closed by kill
	exited  chan struct{}    // closed when the process has ended
	exitMsg string           // "exit status 2", "signal: killed"
	killed  sync.Once

	initOnce     sync.Once
	initDuration time.Duration
	cold         bool // the next invocation is the first

	mu      sync.Mutex
	current *invocation

	// Output: the process writes to a file, read from logOff on.
	logMu   sync.Mutex
	logFile *os.File
	logOff  int64
	partial []byte
	logsOK  bool // the execution role may write the log group
	peakMB  int
}

// fnError is a function error as the Runtime API reports it.
type fnError struct {
	Type    string `json:"errorType"`
	Message string `json:"errorMessage"`
	// body is the payload the runtime posted, when it posted one.
	body []byte
}

func (e *fnError) payload() []byte {
	if len(e.body) > 0 {
		return e.body
	}
	return []byte(fmt.Sprintf(`{"errorType":%q,"errorMessage":%q}`, e.Type, e.Message))
}

func newInstance(s *Service, v *version) *instance {
	now := s.now().UTC()
	id := randomHex(32)
	return &instance{s: s, fn: v.fn, ver: v, gen: v.generation, cfg: v.cfg, c: v.code, id: id,
		stream: now.Format("2006/01/02") + "/[" + v.number + "]" + id,
		next:   make(chan *invocation), initErr: make(chan *fnError, 1), dead: make(chan struct{}), exited: make(chan struct{}), cold: true}
}

// start unzips the code if needed, takes a session of the execution role and
// starts the bootstrap against the instance's own Runtime API. A bootstrap
// that cannot start is a Runtime.InvalidEntrypoint function error.
func (in *instance) start(requestID string) *fnError {
	s, f := in.s, in.fn
	root, err := s.taskRoot()
	dir := ""
	if err == nil {
		dir, err = in.c.extract(root)
	}
	if err != nil {
		return &fnError{Type: "Runtime.Unknown", Message: "RequestId: " + requestID + " Error: " + err.Error()}
	}
	env := in.environment(dir)
	if s.opts.Roles != nil {
		sess, err := s.opts.Roles.AssumeRoleForService(in.cfg.role, servicePrincipal, f.name, sourceKeys(f.account, f.arn))
		if err != nil {
			return &fnError{Type: "Runtime.Unknown", Message: "RequestId: " + requestID + " Error: The role defined for the function cannot be assumed by Lambda."}
		}
		env = append(env, "AWS_ACCESS_KEY_ID="+sess.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+sess.SecretAccessKey, "AWS_SESSION_TOKEN="+sess.SessionToken)
		in.credsExpire = sess.Expiration
		in.logsOK = in.prepareLogs(sess.AccessKeyID)
	} else {
		in.logsOK = in.prepareLogs("")
	}
	if msg := checkBootstrap(dir, in.cfg.arch); msg != "" {
		return &fnError{Type: "Runtime.InvalidEntrypoint", Message: "RequestId: " + requestID + " Error: " + msg}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return &fnError{Type: "Runtime.Unknown", Message: "RequestId: " + requestID + " Error: " + err.Error()}
	}
	env = append(env, "AWS_LAMBDA_RUNTIME_API="+ln.Addr().String())
	logFile, err := os.CreateTemp(root, "output-")
	if err != nil {
		ln.Close()
		return &fnError{Type: "Runtime.Unknown", Message: "RequestId: " + requestID + " Error: " + err.Error()}
	}
	in.logFile = logFile
	cmd := exec.Command(filepath.Join(dir, "bootstrap"))
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, env, logFile, logFile
	isolate(cmd)
	in.emit(initStartLine(in.cfg.runtime, f.region))
	select {
	case <-in.dead:
		ln.Close()
		in.closeLog()
		return &fnError{Type: "Runtime.Unknown", Message: "RequestId: " + requestID + " Error: The sandbox is shutting down."}
	default:
	}
	in.spawned = time.Now()
	if err := cmd.Start(); err != nil {
		ln.Close()
		in.closeLog()
		var pe *os.PathError
		msg := err.Error()
		if errors.As(err, &pe) {
			msg = "fork/exec /var/task/bootstrap: " + pe.Err.Error()
		}
		return &fnError{Type: "Runtime.InvalidEntrypoint", Message: "RequestId: " + requestID + " Error: " + msg}
	}
	in.srv = &http.Server{Handler: in, ReadHeaderTimeout: 10 * time.Second}
	// kill may have run meanwhile (the sandbox closing): whichever of the
	// two comes second sees the other's doing. If kill came first, nothing
	// of the instance is left running.
	in.mu.Lock()
	in.cmd = cmd
	in.mu.Unlock()
	select {
	case <-in.dead:
		killGroup(cmd.Process.Pid)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		ln.Close()
		return &fnError{Type: "Runtime.Unknown", Message: "RequestId: " + requestID + " Error: The sandbox is shutting down."}
	default:
	}
	s.wg.Add(3) // the caller holds a count (acquire's), so this cannot race Close's Wait
	go func() {
		defer s.wg.Done()
		_ = in.srv.Serve(ln)
	}()
	go in.supervise()
	go in.pollLogs()
	return nil
}

// environment is the process environment Lambda gives a provided runtime,
// then the function's variables, then the sandbox endpoint.
func (in *instance) environment(dir string) []string {
	f, c := in.fn, in.cfg
	env := []string{
		"AWS_LAMBDA_FUNCTION_NAME=" + f.name,
		"AWS_LAMBDA_FUNCTION_VERSION=" + in.ver.number,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(c.memory),
		"AWS_LAMBDA_LOG_GROUP_NAME=" + c.logGroup,
		"AWS_LAMBDA_LOG_STREAM_NAME=" + in.stream,
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"AWS_REGION=" + f.region,
		"AWS_DEFAULT_REGION=" + f.region,
		"_HANDLER=" + c.handler,
		"LAMBDA_TASK_ROOT=" + dir,
		"LAMBDA_RUNTIME_DIR=" + dir,
		"TZ=:UTC",
		"LANG=en_US.UTF-8",
		"PATH=/usr/local/bin:/usr/bin/:/bin:/opt/bin",
		"LD_LIBRARY_PATH=/lib64:/usr/lib64:" + dir + ":" + dir + "/lib:/opt/lib",
	}
	if c.logFormat == "JSON" {
		env = append(env, "AWS_LAMBDA_LOG_FORMAT=JSON")
	}
	for k, v := range c.env {
		env = append(env, k+"="+v)
	}
	if in.s.opts.Endpoint != "" {
		env = append(env, "AWS_ENDPOINT_URL="+in.s.opts.Endpoint)
	}
	if ca := in.s.opts.CAFile; ca != "" {
		env = append(env, "AWS_CA_BUNDLE="+ca, "SSL_CERT_FILE="+ca)
	}
	return env
}

// prepareLogs does what Lambda does with the execution role before writing
// a function's output: create the log group if it is missing, then the
// instance's stream. Whatever the role may not do, Lambda silently skips,
// and so the output is dropped.
func (in *instance) prepareLogs(akid string) bool {
	s, f, group := in.s, in.fn, in.cfg.logGroup
	if s.opts.Logs == nil {
		return false
	}
	allowed := func(action, arn string) bool {
		if s.opts.Authorizer == nil || s.opts.Roles == nil {
			return true
		}
		cred, ok := s.opts.Roles.LookupAccessKey(akid)
		if !ok {
			return false
		}
		caller := cred.Caller
		call := &awsapi.Call{Caller: &caller, Service: "logs", Action: action, Region: f.region, Time: s.now()}
		return s.opts.Authorizer.Authorize(call, "logs:"+action, awsapi.Resource{ARN: arn, Account: f.account}, nil) == nil
	}
	if !s.opts.Logs.GroupExists(f.account, f.region, group) {
		if !allowed("CreateLogGroup", logs.GroupARN(f.account, f.region, group)) {
			return false
		}
		_ = s.opts.Logs.CreateGroupFor(f.account, f.region, group, logs.GroupSettings{})
	}
	streamARN := logs.StreamARN(f.account, f.region, group, in.stream)
	return allowed("CreateLogStream", streamARN) && allowed("PutLogEvents", streamARN)
}

// supervise waits for the process to end, then cleans up after it.
func (in *instance) supervise() {
	defer in.s.wg.Done()
	err := in.cmd.Wait()
	in.exitMsg = "exit status 0"
	if err != nil {
		in.exitMsg = err.Error()
	}
	killGroup(in.cmd.Process.Pid) // what the bootstrap left behind
	close(in.exited)
	in.kill()
	in.logMu.Lock()
	in.drainLocked()
	in.logMu.Unlock()
	in.closeLog()
	in.c.release()
}

// kill stops the instance: the process group dies and the Runtime API closes.
func (in *instance) kill() {
	in.killed.Do(func() {
		close(in.dead)
		in.mu.Lock()
		cmd, srv := in.cmd, in.srv
		in.mu.Unlock()
		if cmd != nil {
			killGroup(cmd.Process.Pid)
			_ = cmd.Process.Kill()
			_ = srv.Close()
		}
	})
}

// killAndWait kills the instance and waits (briefly) for the process to end.
func (in *instance) killAndWait() {
	in.kill()
	if in.cmd == nil {
		return
	}
	select {
	case <-in.exited:
	case <-time.After(5 * time.Second):
	}
}

// retire marks an instance not to be reused and kills it if idle. s.mu must be held.
func (in *instance) retire() {
	in.retired = true
	if !in.busy {
		in.s.dropLocked(in)
	}
}

// alive reports whether the process still runs.
func (in *instance) alive() bool {
	select {
	case <-in.dead:
		return false
	case <-in.exited:
		return false
	default:
		in.mu.Lock()
		defer in.mu.Unlock()
		return in.cmd != nil
	}
}

func (in *instance) pollLogs() {
	defer in.s.wg.Done()
	t := time.NewTicker(logPoll)
	defer t.Stop()
	for {
		select {
		case <-in.dead:
			return
		case <-t.C:
			in.logMu.Lock()
			in.drainLocked()
			in.logMu.Unlock()
		}
	}
}

// drainLocked reads the output written since the last drain and emits its
// complete lines. in.logMu must be held.
func (in *instance) drainLocked() {
	if in.logFile == nil {
		return
	}
	if in.cmd != nil && in.cmd.Process != nil {
		in.peakMB = max(in.peakMB, peakMemoryMB(in.cmd.Process.Pid))
	}
	buf := make([]byte, 64<<10)
	for {
		n, err := in.logFile.ReadAt(buf, in.logOff)
		in.logOff += int64(n)
		in.partial = append(in.partial, buf[:n]...)
		if n < len(buf) || err != nil {
			break
		}
	}
	for {
		i := bytes.IndexByte(in.partial, '\n')
		if i < 0 {
			break
		}
		in.emitLocked(string(bytes.TrimSuffix(in.partial[:i], []byte("\r"))))
		in.partial = in.partial[i+1:]
	}
}

// flushLocked emits an unterminated last line. in.logMu must be held.
func (in *instance) flushLocked() {
	if len(in.partial) > 0 {
		in.emitLocked(string(in.partial))
		in.partial = nil
	}
}

func (in *instance) closeLog() {
	in.logMu.Lock()
	defer in.logMu.Unlock()
	if in.logFile != nil {
		in.flushLocked()
		in.logFile.Close()
		_ = os.Remove(in.logFile.Name())
		in.logFile = nil
	}
}

// emit writes one line of the instance's log.
func (in *instance) emit(line string) {
	in.logMu.Lock()
	defer in.logMu.Unlock()
	in.emitLocked(line)
}

// emitLocked writes a line to the log stream and to the running
// invocation's tail. in.logMu must be held.
func (in *instance) emitLocked(line string) {
	in.mu.Lock()
	inv := in.current
	in.mu.Unlock()
	if inv != nil {
		inv.tail.WriteString(line)
		inv.tail.WriteByte('\n')
	}
	if in.logsOK {
		_ = in.s.opts.Logs.PutEventsFor(in.fn.account, in.fn.region, in.cfg.logGroup, in.stream, logs.Event{Time: in.s.now(), Message: line})
	}
}

func initStartLine(runtime, region string) string {
	return "INIT_START Runtime Version: " + runtime + ".v1\tRuntime Version ARN: arn:aws:lambda:" + region + "::runtime:" + runtimeVersionID(runtime)
}
