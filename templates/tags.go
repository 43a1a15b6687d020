package templates

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/osteele/liquid/expressions"
	"github.com/osteele/liquid/render"
	"github.com/osteele/liquid/values"
)

// stateKey is the binding that carries a rendering's *state to the tags. No
// template can name it: it is not an identifier.
const stateKey = "\x00state"

// state is one rendering's budget: deadline, loop iterations, bytes held.
type state struct {
	ctx        context.Context
	deadline   time.Time
	maxOutput  int
	maxRetain  int
	iterations int
	retained   int
	// fatal is the first limit that stopped rendering; the renderer may
	// wrap it, drop it or panic with it, so Render reports it from here.
	fatal error
}

func stateOf(ctx render.Context) *state {
	st, _ := ctx.Get(stateKey).(*state)
	if st == nil {
		// Only Render binds the key; a nil here is a bug in this package.
		panic("templates: rendering without state")
	}
	return st
}

// fail records err as the reason rendering stopped, and returns it.
func (st *state) fail(err error) error {
	if st.fatal == nil {
		st.fatal = err
	}
	return st.fatal
}

// tick is called before every loop iteration, write, assign, capture and
// condition: it stops rendering after the deadline or cancellation.
func (st *state) tick() error {
	if st.fatal != nil {
		return st.fatal
	}
	if err := st.ctx.Err(); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return st.fail(&limitError{"rendering took longer than its deadline", ErrTimeout})
		}
		return st.fail(fmt.Errorf("rendering stopped: %w", err))
	}
	if time.Now().After(st.deadline) {
		return st.fail(&limitError{"rendering took too long", ErrTimeout})
	}
	return nil
}

// iterate counts one loop iteration against maxIterations.
func (st *state) iterate() error {
	st.iterations++
	if st.iterations > maxIterations {
		return st.fail(&limitError{fmt.Sprintf("loops ran more than %d times in total", maxIterations), ErrTooLong})
	}
	return st.tick()
}

// retain counts bytes kept by assign or capture.
func (st *state) retain(n int) error {
	st.retained += n
	if st.retained > st.maxRetain {
		return st.fail(&limitError{fmt.Sprintf("assign and capture kept more than %d bytes", st.maxRetain), ErrTooLong})
	}
	return nil
}

// limitWriter collects output up to max bytes; past it, it fails, which
// stops the renderer at its next write.
type limitWriter struct {
	buf  *bytes.Buffer
	max  int
	st   *state
	what string
}

func (w *limitWriter) Write(p []byte) (int, error) {
	if err := w.st.tick(); err != nil {
		return 0, err
	}
	if w.buf.Len()+len(p) > w.max {
		return 0, w.st.fail(&limitError{fmt.Sprintf("%s is longer than %d bytes", w.what, w.max), ErrTooLong})
	}
	return w.buf.Write(p)
}

var (
	errBreak    = errors.New("break outside a for loop")
	errContinue = errors.New("continue outside a for loop")
)

// addTags defines the allowed tags. None reads files: there is no include,
// render or layout.
func addTags(cfg *render.Config) {
	cfg.AddTag("assign", assignTag)
	cfg.AddTag("break", func(string) (func(io.Writer, render.Context) error, error) {
		return func(_ io.Writer, ctx render.Context) error { return ctx.WrapError(errBreak) }, nil
	})
	cfg.AddTag("continue", func(string) (func(io.Writer, render.Context) error, error) {
		return func(_ io.Writer, ctx render.Context) error { return ctx.WrapError(errContinue) }, nil
	})
	cfg.AddBlock("capture").Compiler(captureTag)
	cfg.AddBlock("case").Clause("when").Clause("else").Compiler(caseTag)
	cfg.AddBlock("comment")
	cfg.AddBlock("for").Clause("else").Compiler(forTag)
	cfg.AddBlock("if").Clause("else").Clause("elsif").Compiler(ifTag(true))
	cfg.AddBlock("raw")
	cfg.AddBlock("unless").Clause("else").Compiler(ifTag(false))
}

func assignTag(args string) (func(io.Writer, render.Context) error, error) {
	stmt, err := expressions.ParseStatement(expressions.AssignStatementSelector, args)
	if err != nil {
		return nil, err
	}
	name, expr := stmt.Assignment.Variable, stmt.Assignment.ValueFn
	return func(_ io.Writer, ctx render.Context) error {
		st := stateOf(ctx)
		if err := st.tick(); err != nil {
			return err
		}
		v, err := ctx.Evaluate(expr)
		if err != nil {
			return err
		}
		if err := st.retain(sizeOf(v)); err != nil {
			return err
		}
		ctx.Set(name, v)
		return nil
	}, nil
}

// sizeOf estimates the bytes v holds, for the retain budget.
func sizeOf(v any) int {
	switch v := v.(type) {
	case string:
		return len(v)
	case []string:
		n := 0
		for _, s := range v {
			n += len(s) + 16
		}
		return n
	case []any:
		n := 0
		for _, x := range v {
			if s, ok := x.(string); ok {
				n += len(s)
			}
			n += 16
		}
		return n
	}
	return 16
}

func captureTag(node render.BlockNode) (func(io.Writer, render.Context) error, error) {
	name := strings.TrimSpace(node.Args)
	if !isIdentifier(name) {
		return nil, fmt.Errorf("capture needs a variable name, not %q", name)
	}
	return func(_ io.Writer, ctx render.Context) error {
		st := stateOf(ctx)
		if err := st.tick(); err != nil {
			return err
		}
		var buf bytes.Buffer
		if err := ctx.RenderChildren(&limitWriter{buf: &buf, max: st.maxOutput, st: st, what: "captured text"}); err != nil {
			return err
		}
		if err := st.retain(buf.Len()); err != nil {
			return err
		}
		ctx.Set(name, buf.String())
		return nil
	}, nil
}

func caseTag(node render.BlockNode) (func(io.Writer, render.Context) error, error) {
	expr, err := expressions.Parse(node.Args)
	if err != nil {
		return nil, err
	}
	type branch struct {
		when []expressions.Expression // nil for else
		body *render.BlockNode
	}
	var branches []branch
	for _, c := range node.Clauses {
		b := branch{body: c}
		if c.Name == "when" {
			stmt, err := expressions.ParseStatement(expressions.WhenStatementSelector, c.Args)
			if err != nil {
				return nil, err
			}
			b.when = stmt.When.Exprs
		}
		branches = append(branches, b)
	}
	return func(w io.Writer, ctx render.Context) error {
		if err := stateOf(ctx).tick(); err != nil {
			return err
		}
		v, err := ctx.Evaluate(expr)
		if err != nil {
			return err
		}
		for _, b := range branches {
			if b.when == nil {
				return ctx.RenderBlock(w, b.body)
			}
			for _, e := range b.when {
				x, err := ctx.Evaluate(e)
				if err != nil {
					return err
				}
				if values.Equal(v, x) {
					return ctx.RenderBlock(w, b.body)
				}
			}
		}
		return nil
	}, nil
}

func ifTag(polarity bool) render.BlockCompiler {
	return func(node render.BlockNode) (func(io.Writer, render.Context) error, error) {
		type branch struct {
			test expressions.Expression // nil for else
			body *render.BlockNode
		}
		expr, err := expressions.Parse(node.Args)
		if err != nil {
			return nil, err
		}
		if !polarity {
			expr = expressions.Not(expr)
		}
		branches := []branch{{expr, &node}}
		for _, c := range node.Clauses {
			b := branch{body: c}
			if c.Name == "elsif" {
				if b.test, err = expressions.Parse(c.Args); err != nil {
					return nil, err
				}
			}
			branches = append(branches, b)
		}
		return func(w io.Writer, ctx render.Context) error {
			st := stateOf(ctx)
			for _, b := range branches {
				if b.test == nil {
					return ctx.RenderBlock(w, b.body)
				}
				if err := st.tick(); err != nil {
					return err
				}
				v, err := ctx.Evaluate(b.test)
				if err != nil {
					return err
				}
				if v != nil && v != false {
					return ctx.RenderBlock(w, b.body)
				}
			}
			return nil
		}, nil
	}
}

// iterable is what a for loop walks: values.Range (never materialized, so
// (1..1000000000) costs nothing until iterated) or a slice.
type iterable interface {
	Len() int
	Index(int) any
}

type sliceIter reflect.Value

func (s sliceIter) Len() int        { return reflect.Value(s).Len() }
func (s sliceIter) Index(i int) any { return reflect.Value(s).Index(i).Interface() }

type pairIter [][2]any

func (p pairIter) Len() int        { return len(p) }
func (p pairIter) Index(i int) any { return []any{p[i][0], p[i][1]} }

// forTag is Liquid's for loop with every iteration counted against the
// rendering's budget (maxIterations, deadline), so no loop or nest of loops
// can run long whatever its bounds.
func forTag(node render.BlockNode) (func(io.Writer, render.Context) error, error) {
	stmt, err := expressions.ParseStatement(expressions.LoopStatementSelector, node.Args)
	if err != nil {
		return nil, err
	}
	loop := stmt.Loop
	if len(node.Clauses) > 1 {
		return nil, errors.New("a for loop has at most one else")
	}
	return func(w io.Writer, ctx render.Context) error {
		st := stateOf(ctx)
		if err := st.tick(); err != nil {
			return err
		}
		v, err := ctx.Evaluate(loop.Expr)
		if err != nil {
			return err
		}
		it := iteratorOf(v)
		n := 0
		if it != nil {
			n = max(it.Len(), 0)
		}
		offset, limit := 0, n
		if loop.Offset != nil {
			if offset, err = intArg(ctx, loop.Offset, "offset"); err != nil {
				return err
			}
			offset = min(max(offset, 0), n)
		}
		if loop.Limit != nil {
			if limit, err = intArg(ctx, loop.Limit, "limit"); err != nil {
				return err
			}
			limit = max(limit, 0)
		}
		count := min(n-offset, limit)
		if count <= 0 {
			if len(node.Clauses) == 1 {
				return ctx.RenderBlock(w, node.Clauses[0])
			}
			return nil
		}
		defer func(forloop, variable any) {
			ctx.Set("forloop", forloop)
			ctx.Set(loop.Variable, variable)
		}(ctx.Get("forloop"), ctx.Get(loop.Variable))
		for i := range count {
			if err := st.iterate(); err != nil {
				return err
			}
			j := offset + i
			if loop.Reversed {
				j = offset + count - 1 - i
			}
			ctx.Set(loop.Variable, it.Index(j))
			ctx.Set("forloop", map[string]any{
				"first": i == 0, "last": i == count-1,
				"index": i + 1, "index0": i,
				"rindex": count - i, "rindex0": count - i - 1,
				"length": count,
			})
			err := ctx.RenderChildren(w)
			switch {
			case err == nil:
			case err.Cause() == errBreak:
				return nil
			case err.Cause() == errContinue:
			default:
				return err
			}
		}
		return nil
	}, nil
}

func intArg(ctx render.Context, e expressions.Expression, what string) (int, error) {
	v, err := ctx.Evaluate(e)
	if err != nil {
		return 0, err
	}
	n, ok := v.(int)
	if !ok {
		return 0, fmt.Errorf("loop %s must be a whole number", what)
	}
	return n, nil
}

// iteratorOf returns what a for loop walks for v: ranges lazily, slices,
// and maps as sorted [key, value] pairs; nil for anything else.
func iteratorOf(v any) iterable {
	switch v := v.(type) {
	case nil:
		return nil
	case values.Range:
		return v
	case []any:
		return sliceIter(reflect.ValueOf(v))
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		return sliceIter(rv)
	case reflect.Map:
		pairs := make(pairIter, 0, rv.Len())
		for it := rv.MapRange(); it.Next(); {
			pairs = append(pairs, [2]any{it.Key().Interface(), it.Value().Interface()})
		}
		sort.Slice(pairs, func(i, j int) bool { return fmt.Sprint(pairs[i][0]) < fmt.Sprint(pairs[j][0]) })
		return pairs
	}
	return nil
}
