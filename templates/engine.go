package templates

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/osteele/liquid/expressions"
	"github.com/osteele/liquid/parser"
	"github.com/osteele/liquid/render"
)

// ErrTooLong is wrapped by Render's error when the output, a captured or
// filtered string, the variables passed in, or the total number of loop
// iterations goes over its limit.
var ErrTooLong = errors.New("template result too long")

// ErrTimeout is wrapped by Render's error when rendering takes longer than
// Options.Timeout or the context's deadline.
var ErrTimeout = errors.New("template rendering took too long")

const (
	defaultMaxOutput = 64 << 10
	defaultMaxSource = 64 << 10
	defaultTimeout   = 250 * time.Millisecond

	// maxIterations bounds the loop iterations of one rendering, all loops
	// and nesting levels together.
	maxIterations = 10_000
	// maxVarValues bounds the number of values (map entries and array
	// elements, nested ones included) in the variables passed to Render.
	maxVarValues = 10_000
	// maxVarDepth bounds the nesting of the variables passed to Render; it
	// also refuses cyclic maps, which would make the renderer recurse forever.
	maxVarDepth = 16
	// retainFactor times MaxOutput bounds the bytes held by assign and
	// capture in one rendering.
	retainFactor = 32

	cacheEntries = 1024
	cacheBytes   = 8 << 20
)

// Options configures an Engine. The zero value is usable.
type Options struct {
	// MaxOutput bounds the rendered output in bytes, and every string a
	// template builds (captures, filter results). 0 means 64 KiB.
	MaxOutput int
	// Timeout bounds the time one Render takes. 0 means 250 ms.
	Timeout time.Duration
	// MaxSource bounds the template source in bytes. 0 means 64 KiB.
	MaxSource int
}

// Engine checks and renders message templates; safe for concurrent use.
type Engine struct {
	maxOutput int
	maxSource int
	timeout   time.Duration
	cfg       render.Config

	mu    sync.RWMutex
	cache map[cacheKey]*cacheEntry
	bytes int
	clock atomic.Int64
}

type cacheKey struct {
	src  string
	html bool
}

type cacheEntry struct {
	root    render.Node
	err     error
	lastUse atomic.Int64
}

// New returns an Engine with opts, zero fields replaced by their defaults.
func New(opts Options) *Engine {
	e := &Engine{
		maxOutput: opts.MaxOutput,
		maxSource: opts.MaxSource,
		timeout:   opts.Timeout,
		cache:     map[cacheKey]*cacheEntry{},
	}
	if e.maxOutput <= 0 {
		e.maxOutput = defaultMaxOutput
	}
	if e.maxSource <= 0 {
		e.maxSource = defaultMaxSource
	}
	if e.timeout <= 0 {
		e.timeout = defaultTimeout
	}
	e.cfg = render.NewConfig()
	addTags(&e.cfg)
	addFilters(&e.cfg, e.maxOutput)
	return e
}

// Check parses src and checks every variable and filter against the
// allow-list.
// The error's message is for a marketer and starts with the line:
// "line 3: unknown variable customer.nmae"; it has one line per problem.
func (e *Engine) Check(src string) error {
	return e.compiled(src, false).err
}

// Render renders src with vars. html=true escapes every output value for
// HTML (email HTML bodies): {{ }} values are escaped, the template's own
// markup is not (a value whose last filter is escape or escape_once is not
// escaped twice; text gathered by capture is escaped when it is output).
// html=false outputs plain text unchanged (messengers, PUSH, email text; the
// Telegram sender escapes by itself).
//
// Missing values render as empty. Errors: output over MaxOutput, strings or
// loops over their limits (ErrTooLong), over Timeout or the context's
// deadline (ErrTimeout), the context's cancellation, or a Check error, which
// is returned as Check returns it.
func (e *Engine) Render(ctx context.Context, src string, vars map[string]any, html bool) (out string, err error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("render template: %w", err)
	}
	c := e.compiled(src, html)
	if c.err != nil {
		return "", c.err
	}
	if err := checkVars(vars, e.maxOutput); err != nil {
		return "", fmt.Errorf("render template: %w", err)
	}
	st := &state{
		ctx:       ctx,
		deadline:  time.Now().Add(e.timeout),
		maxOutput: e.maxOutput,
		maxRetain: retainFactor * e.maxOutput,
	}
	if d, ok := ctx.Deadline(); ok && d.Before(st.deadline) {
		st.deadline = d
	}
	bindings := make(map[string]any, len(vars)+1)
	for k, v := range vars {
		bindings[k] = v
	}
	bindings[stateKey] = st

	buf := bufPool.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 4*defaultMaxOutput {
			buf.Reset()
			bufPool.Put(buf)
		}
	}()
	w := &limitWriter{buf: buf, max: e.maxOutput, st: st, what: "the output"}
	defer func() {
		if r := recover(); r != nil {
			// The renderer panics when the writer fails at a final flush,
			// and on bugs in filters; neither may take the caller down.
			out = ""
			if st.fatal != nil {
				err = st.fatal
				return
			}
			err = fmt.Errorf("render template: internal error: %v", r)
		}
	}()
	if rerr := render.Render(c.root, w, bindings, e.cfg); rerr != nil {
		return "", renderError(rerr, st)
	}
	if st.fatal != nil {
		return "", st.fatal
	}
	return buf.String(), nil
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// compiled returns the cached check result and compiled tree of src.
func (e *Engine) compiled(src string, html bool) *cacheEntry {
	key := cacheKey{src, html}
	now := e.clock.Add(1)
	e.mu.RLock()
	c, ok := e.cache[key]
	e.mu.RUnlock()
	if ok {
		c.lastUse.Store(now)
		return c
	}
	c = &cacheEntry{}
	c.lastUse.Store(now)
	c.root, c.err = e.compile(src, html)
	if len(src) > cacheBytes/16 {
		return c
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if old, ok := e.cache[key]; ok {
		return old
	}
	for len(e.cache) > 0 && (len(e.cache) >= cacheEntries || e.bytes+len(src) > cacheBytes) {
		e.evictOldest()
	}
	e.cache[key] = c
	e.bytes += len(src)
	return c
}

// evictOldest removes the least recently used cache entry; e.mu is held.
func (e *Engine) evictOldest() {
	var (
		oldest cacheKey
		min    int64 = -1
	)
	for k, c := range e.cache {
		if t := c.lastUse.Load(); min < 0 || t < min {
			oldest, min = k, t
		}
	}
	delete(e.cache, oldest)
	e.bytes -= len(oldest.src)
}

// compile checks src and compiles it, for HTML output if html is set.
func (e *Engine) compile(src string, html bool) (render.Node, error) {
	if len(src) > e.maxSource {
		return nil, &checkError{problems: []string{fmt.Sprintf("the template is %d bytes long; at most %d are allowed", len(src), e.maxSource)}}
	}
	root, err := check(e.cfg, src)
	if err != nil {
		return nil, err
	}
	if !html {
		return root, nil
	}
	return compileHTML(e.cfg, src)
}

// compileHTML compiles a checked src for HTML output.
func compileHTML(cfg render.Config, src string) (root render.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, fmt.Errorf("compile template for HTML: %v", r)
		}
	}()
	root, perr := cfg.Compile(htmlSource(cfg, src), parser.SourceLoc{LineNo: 1})
	if perr != nil {
		return nil, fmt.Errorf("compile template for HTML: %w", perr)
	}
	return root, nil
}

// checkError is Check's error: one line per problem, for a marketer.
type checkError struct{ problems []string }

func (e *checkError) Error() string { return strings.Join(e.problems, "\n") }

// runtimeError is a rendering error with the template line it happened on.
type runtimeError struct {
	line  int
	cause error
}

func (e *runtimeError) Error() string {
	if e.line <= 0 {
		return e.cause.Error()
	}
	return fmt.Sprintf("line %d: %s", e.line, e.cause)
}

func (e *runtimeError) Unwrap() error { return e.cause }

// renderError turns the renderer's error into a runtimeError with the
// template line, preferring the limit the rendering state recorded.
func renderError(err render.Error, st *state) error {
	line := err.LineNumber()
	cause := rootCause(err)
	if st.fatal != nil {
		cause = st.fatal
	}
	if line <= 0 {
		return fmt.Errorf("render template: %w", cause)
	}
	return &runtimeError{line: line, cause: cause}
}

// rootCause follows the renderer's Cause chain to the error that stopped
// rendering.
func rootCause(err error) error {
	for {
		switch c := err.(type) {
		case expressions.FilterError:
			if le := asLimit(c.Err); le != nil {
				return le
			}
			return fmt.Errorf("filter %s: %w", c.FilterName, c.Err)
		case parser.Error:
			if c.Cause() == nil {
				return errors.New(liquidMessage(c))
			}
			err = c.Cause()
		case interface{ Cause() error }:
			if c.Cause() == nil {
				return err
			}
			err = c.Cause()
		default:
			return err
		}
	}
}

// liquidMessage is the message of a liquid error without its
// "Liquid error (line N): " prefix.
func liquidMessage(err parser.Error) string {
	msg := err.Error()
	prefix := "Liquid error"
	if err.LineNumber() > 0 {
		prefix += fmt.Sprintf(" (line %d)", err.LineNumber())
	}
	msg = strings.TrimPrefix(msg, prefix+": ")
	// The liquid parser prefixes statements with selectors of its own.
	return statementSelectors.Replace(msg)
}

var statementSelectors = strings.NewReplacer(
	expressions.AssignStatementSelector, "",
	expressions.LoopStatementSelector, "",
	expressions.WhenStatementSelector, "",
	expressions.CycleStatementSelector, "",
)

func asLimit(err error) *limitError {
	var le *limitError
	if errors.As(err, &le) {
		return le
	}
	return nil
}

// limitError is a limit that stopped rendering; it wraps ErrTooLong or
// ErrTimeout.
type limitError struct {
	msg  string
	kind error
}

func (e *limitError) Error() string { return e.msg }
func (e *limitError) Unwrap() error { return e.kind }

// checkVars refuses variables too big or too deep to render safely.
func checkVars(vars map[string]any, maxString int) error {
	n := 0
	var walk func(v reflect.Value, depth int) error
	walk = func(v reflect.Value, depth int) error {
		if depth > maxVarDepth {
			return &limitError{fmt.Sprintf("variables are nested more than %d deep", maxVarDepth), ErrTooLong}
		}
		for v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return nil
			}
			v = v.Elem()
		}
		switch v.Kind() {
		case reflect.String:
			if v.Len() > maxString {
				return &limitError{fmt.Sprintf("a variable is longer than %d bytes", maxString), ErrTooLong}
			}
		case reflect.Slice, reflect.Array:
			n += v.Len()
			if n > maxVarValues {
				return &limitError{fmt.Sprintf("variables hold more than %d values", maxVarValues), ErrTooLong}
			}
			if v.Type().Elem().Kind() == reflect.Uint8 {
				return nil
			}
			for i := range v.Len() {
				if err := walk(v.Index(i), depth+1); err != nil {
					return err
				}
			}
		case reflect.Map:
			n += v.Len()
			if n > maxVarValues {
				return &limitError{fmt.Sprintf("variables hold more than %d values", maxVarValues), ErrTooLong}
			}
			it := v.MapRange()
			for it.Next() {
				if err := walk(it.Value(), depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, v := range vars {
		if err := walk(reflect.ValueOf(v), 0); err != nil {
			return err
		}
	}
	return nil
}
