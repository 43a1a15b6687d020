package templates

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/osteele/liquid/parser"
	"github.com/osteele/liquid/render"
)

// Static limits Check enforces.
const (
	maxProblems      = 10
	maxNesting       = 50
	maxFiltersPerTag = 50
)

// fields are the allow-listed variables: root → fields. data takes any
// field, at any depth.
var fields = map[string]map[string]bool{
	"customer": set("id", "name", "email", "phone", "language", "birthday"),
	"card":     set("id", "stamps", "stamps_total", "stamps_left", "next_reward", "cycle", "page_url"),
	"voucher":  set("id", "title", "redeem_code", "expires_at"),
	"business": set("name"),
	"campaign": set("id", "name"),
}

// forloopFields are the fields of the forloop variable inside a for loop.
var forloopFields = set("first", "last", "index", "index0", "rindex", "rindex0", "length")

// valueProperties may follow an allow-listed field: Liquid's size, first
// and last of a string or array.
var valueProperties = set("size", "first", "last")

// fileTags are tags other Liquid dialects use to read other templates.
var fileTags = set("include", "render", "layout", "extends", "section", "sections", "block", "partial")

// allowedTags are the tags a template may use, with their clauses and ends.
var allowedTags = set("assign", "capture", "endcapture", "case", "when", "else", "endcase",
	"comment", "endcomment", "for", "endfor", "break", "continue", "if", "elsif", "endif",
	"raw", "endraw", "unless", "endunless")

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// check checks src and returns its compiled tree for plain-text rendering.
func check(cfg render.Config, src string) (root render.Node, err error) {
	defer func() {
		// The liquid parser panics on some inputs (integers out of range).
		if r := recover(); r != nil {
			root, err = nil, &checkError{problems: []string{parsePanic(src, r)}}
		}
	}()
	ast, perr := cfg.Parse(src, parser.SourceLoc{LineNo: 1})
	if perr != nil {
		return nil, &checkError{problems: []string{fmt.Sprintf("line %d: %s", perr.LineNumber(), liquidMessage(perr))}}
	}
	c := &checker{assigned: map[string]bool{}, scopes: []string{}, product: 1}
	c.tags(ast)
	if len(c.problems) > 0 {
		return nil, c.err()
	}
	root, perr = cfg.Compile(src, parser.SourceLoc{LineNo: 1})
	if perr != nil {
		return nil, &checkError{problems: []string{fmt.Sprintf("line %d: %s", perr.LineNumber(), liquidMessage(perr))}}
	}
	c.node(ast)
	if len(c.problems) > 0 {
		return nil, c.err()
	}
	return root, nil
}

// parsePanic is the problem for a source the liquid parser panicked on:
// the first number that does not fit, or the panic itself.
func parsePanic(src string, r any) string {
	for _, t := range parser.Scan(src, parser.SourceLoc{LineNo: 1}, nil) {
		for _, tok := range lex(t.Args) {
			if tok.kind != tNumber {
				continue
			}
			if _, err := strconv.ParseFloat(tok.text, 64); err != nil || !strings.Contains(tok.text, ".") && !fitsInt(tok.text) {
				return fmt.Sprintf("line %d: the number %s is too big", t.SourceLoc.LineNo, tok.text)
			}
		}
	}
	return fmt.Sprintf("the template does not parse: %v", r)
}

func fitsInt(s string) bool {
	_, err := strconv.ParseInt(s, 10, 64)
	return err == nil
}

// checker walks a parsed template in document order and collects problems.
type checker struct {
	problems []string
	more     int
	// assigned holds the names assign and capture have defined so far;
	// Liquid's assignments are global from where they run on.
	assigned map[string]bool
	// scopes holds the loop variables of the enclosing for loops.
	scopes []string
	depth  int
	// product is the number of times the current point runs, counting
	// for loops over literal ranges; 0 once a loop here has been reported.
	product int
}

func (c *checker) problem(line int, format string, args ...any) {
	if len(c.problems) >= maxProblems {
		c.more++
		return
	}
	c.problems = append(c.problems, fmt.Sprintf("line %d: ", line)+fmt.Sprintf(format, args...))
}

func (c *checker) err() error {
	p := c.problems
	if c.more > 0 {
		p = append(p[:len(p):len(p)], fmt.Sprintf("… and %d more problems", c.more))
	}
	return &checkError{problems: p}
}

// tags refuses tags that are not allowed, before compiling (the compiler's
// own message for them is less helpful).
func (c *checker) tags(n parser.ASTNode) {
	switch n := n.(type) {
	case *parser.ASTSeq:
		for _, ch := range n.Children {
			c.tags(ch)
		}
	case *parser.ASTBlock:
		c.tagName(n.Token)
		for _, ch := range n.Body {
			c.tags(ch)
		}
		for _, cl := range n.Clauses {
			c.tags(cl)
		}
	case *parser.ASTTag:
		c.tagName(n.Token)
	}
}

func (c *checker) tagName(t parser.Token) {
	switch {
	case allowedTags[t.Name]:
	case fileTags[t.Name]:
		c.problem(t.SourceLoc.LineNo, "tag %s is not allowed: templates cannot include other templates or files", t.Name)
	default:
		c.problem(t.SourceLoc.LineNo, "unknown tag %s", t.Name)
	}
}

func (c *checker) nodes(ns []parser.ASTNode) {
	for _, n := range ns {
		c.node(n)
	}
}

func (c *checker) node(n parser.ASTNode) {
	switch n := n.(type) {
	case *parser.ASTSeq:
		c.nodes(n.Children)
	case *parser.ASTObject:
		c.expr(n.SourceLoc.LineNo, lex(n.Args), false)
	case *parser.ASTTag:
		c.tag(n.Token)
	case *parser.ASTBlock:
		c.block(n)
	}
}

func (c *checker) tag(t parser.Token) {
	line := t.SourceLoc.LineNo
	switch t.Name {
	case "assign":
		toks := lex(t.Args)
		if len(toks) < 2 || toks[0].kind != tIdent || toks[1].text != "=" {
			c.problem(line, "assign needs a variable name and =")
			return
		}
		c.expr(line, toks[2:], false)
		c.define(line, toks[0].text)
	case "break", "continue":
		if len(c.scopes) == 0 {
			c.problem(line, "%s outside a for loop", t.Name)
		}
	}
}

func (c *checker) define(line int, name string) {
	if fields[name] != nil || name == "data" || name == "forloop" {
		c.problem(line, "%s is a built-in variable and cannot be set", name)
		return
	}
	c.assigned[name] = true
}

func (c *checker) block(b *parser.ASTBlock) {
	line := b.SourceLoc.LineNo
	c.depth++
	defer func() { c.depth-- }()
	if c.depth > maxNesting {
		c.problem(line, "blocks are nested more than %d deep", maxNesting)
		return
	}
	switch b.Name {
	case "if", "unless", "case":
		c.expr(line, lex(b.Args), false)
		c.nodes(b.Body)
		for _, cl := range b.Clauses {
			if cl.Name != "else" {
				c.expr(cl.SourceLoc.LineNo, lex(cl.Args), false)
			}
			c.nodes(cl.Body)
		}
	case "capture":
		c.nodes(b.Body)
		c.define(line, strings.TrimSpace(b.Args))
	case "for":
		c.forBlock(b)
	default: // comment and raw have no checked content
		c.nodes(b.Body)
	}
}

func (c *checker) forBlock(b *parser.ASTBlock) {
	line := b.SourceLoc.LineNo
	toks := lex(b.Args)
	if len(toks) < 3 || toks[0].kind != tIdent || toks[1].kind != tIn {
		c.problem(line, "for needs a variable, in and a list")
		return
	}
	name := toks[0].text
	if fields[name] != nil || name == "data" || name == "forloop" {
		c.problem(line, "%s is a built-in variable and cannot be a loop variable", name)
		return
	}
	rest := toks[2:]
	// The list ends where the loop modifiers (reversed, limit:, offset:)
	// start.
	end := len(rest)
	depth := 0
	for i, t := range rest {
		switch {
		case t.text == "(" || t.text == "[":
			depth++
		case t.text == ")" || t.text == "]":
			depth--
		case depth == 0 && i > 0 && rest[i-1].text != "|" &&
			(t.kind == tIdent && t.text == "reversed" || t.kind == tKeyword && (t.text == "limit" || t.text == "offset" || t.text == "cols")):
			end = min(end, i)
		}
	}
	list, mods := rest[:end], rest[end:]
	times := 1
	if lo, hi, ok := rangeBounds(list); ok {
		c.expr(line, lo, false)
		c.expr(line, hi, false)
		if a, b, ok := literalInts(lo, hi); ok {
			times = max(b-a+1, 0)
		}
	} else {
		c.expr(line, list, false)
	}
	c.expr(line, mods, true)
	saved := c.product
	switch {
	case c.product == 0: // an enclosing loop is already reported
	case times > 0 && c.product > maxIterations/times:
		c.problem(line, "loops here would run %s times; at most %d are allowed in total", bigProduct(c.product, times), maxIterations)
		c.product = 0
	default:
		c.product *= max(times, 1)
	}
	c.scopes = append(c.scopes, name)
	c.nodes(b.Body)
	c.scopes = c.scopes[:len(c.scopes)-1]
	c.product = saved
	for _, cl := range b.Clauses {
		c.nodes(cl.Body)
	}
}

func bigProduct(a, b int) string {
	if b != 0 && a > (1<<62)/b {
		return "more than " + strconv.Itoa(1<<62)
	}
	return strconv.Itoa(a * b)
}

// rangeBounds splits "(lo..hi)" into lo and hi.
func rangeBounds(toks []token) (lo, hi []token, ok bool) {
	if len(toks) < 5 || toks[0].text != "(" || toks[len(toks)-1].text != ")" {
		return nil, nil, false
	}
	depth := 0
	for i, t := range toks {
		switch {
		case t.text == "(" || t.text == "[":
			depth++
		case t.text == ")" || t.text == "]":
			depth--
			if depth == 0 && i != len(toks)-1 {
				return nil, nil, false // "(a) | f" and the like
			}
		case t.kind == tDotDot && depth == 1:
			return toks[1:i], toks[i+1 : len(toks)-1], true
		}
	}
	return nil, nil, false
}

func literalInts(lo, hi []token) (int, int, bool) {
	if len(lo) != 1 || len(hi) != 1 || lo[0].kind != tNumber || hi[0].kind != tNumber {
		return 0, 0, false
	}
	a, err1 := strconv.Atoi(lo[0].text)
	b, err2 := strconv.Atoi(hi[0].text)
	return a, b, err1 == nil && err2 == nil
}

// expr checks the variables, filters and ranges of an expression. mods is
// set for a for loop's modifiers, whose keywords are not filters.
func (c *checker) expr(line int, toks []token, mods bool) {
	filters := 0
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.text == "|":
			if i+1 < len(toks) && (toks[i+1].kind == tIdent || toks[i+1].kind == tKeyword) {
				i++
				filters++
				if name := toks[i].text; !allowedFilters[name] {
					c.problem(line, "unknown filter %s", name)
				}
			}
		case t.text == "(":
			if j := closing(toks, i); j > 0 {
				for k := i + 1; k < j; k++ {
					if toks[k].kind == tDotDot && depthAt(toks[i:k]) == 1 {
						c.problem(line, "a range like (1..5) is only allowed as the list of a for loop")
						break
					}
				}
			}
		case mods && (t.kind == tKeyword || t.kind == tIdent && t.text == "reversed"):
		case t.kind == tIdent:
			i = c.path(line, toks, i)
		}
	}
	if filters > maxFiltersPerTag {
		c.problem(line, "more than %d filters in one tag", maxFiltersPerTag)
	}
}

// closing returns the index of the ")" matching the "(" at i, or -1.
func closing(toks []token, i int) int {
	depth := 0
	for j := i; j < len(toks); j++ {
		switch toks[j].text {
		case "(":
			depth++
		case ")":
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

func depthAt(toks []token) int {
	d := 0
	for _, t := range toks {
		switch t.text {
		case "(":
			d++
		case ")":
			d--
		}
	}
	return d
}

// path checks the variable path starting at toks[i] and returns the index
// of its last token.
func (c *checker) path(line int, toks []token, i int) int {
	root := toks[i].text
	var segs []string
	dynamic := false
	j := i + 1
	for j < len(toks) {
		if toks[j].kind == tProperty {
			segs = append(segs, toks[j].text)
			j++
			continue
		}
		if toks[j].text == "[" {
			if j+2 < len(toks) && (toks[j+1].kind == tString || toks[j+1].kind == tNumber) && toks[j+2].text == "]" {
				segs = append(segs, toks[j+1].text)
				j += 3
				continue
			}
			dynamic = true
		}
		break
	}
	name := strings.Join(append([]string{root}, segs...), ".")
	switch {
	case root == "data" || c.assigned[root] || c.inScope(root):
	case root == "empty" || root == "blank":
		if len(segs) > 0 {
			c.problem(line, "unknown variable %s", name)
		}
	case root == "forloop":
		if len(c.scopes) == 0 {
			c.problem(line, "forloop outside a for loop")
		} else if dynamic || len(segs) != 1 || !forloopFields[segs[0]] {
			c.problem(line, "unknown variable %s", pathName(name, dynamic))
		}
	case fields[root] != nil:
		ok := !dynamic && len(segs) >= 1 && fields[root][segs[0]] &&
			(len(segs) == 1 || len(segs) == 2 && valueProperties[segs[1]])
		if !ok {
			c.problem(line, "unknown variable %s", pathName(name, dynamic))
		}
	default:
		c.problem(line, "unknown variable %s", pathName(name, dynamic))
	}
	return j - 1
}

func pathName(name string, dynamic bool) string {
	if dynamic {
		return name + "[…]"
	}
	return name
}

func (c *checker) inScope(name string) bool {
	for _, s := range c.scopes {
		if s == name {
			return true
		}
	}
	return false
}

func isIdentifier(s string) bool {
	toks := lex(s)
	return len(toks) == 1 && toks[0].kind == tIdent && toks[0].text == s
}

// htmlSource rewrites src so that every {{ value }} outside raw, comment
// and capture blocks goes through the HTML-escaping filter, unless its last
// filter already escapes. Captured text is plain text: it is escaped where
// it is output. Line numbers are unchanged.
func htmlSource(cfg render.Config, src string) string {
	var b strings.Builder
	b.Grow(len(src) + len(src)/8)
	skipUntil := ""
	captures := 0
	for _, t := range parser.Scan(src, parser.SourceLoc{LineNo: 1}, nil) {
		switch {
		case skipUntil != "":
			if t.Type == parser.TagTokenType && t.Name == skipUntil {
				skipUntil = ""
			}
			b.WriteString(t.Source)
		case t.Type == parser.TagTokenType && (t.Name == "raw" || t.Name == "comment"):
			skipUntil = "end" + t.Name
			b.WriteString(t.Source)
		case t.Type == parser.TagTokenType && t.Name == "capture":
			captures++
			b.WriteString(t.Source)
		case t.Type == parser.TagTokenType && t.Name == "endcapture":
			captures--
			b.WriteString(t.Source)
		case t.Type == parser.ObjTokenType && captures == 0 && !escapes(t.Args):
			b.WriteString("{{")
			if strings.HasPrefix(t.Source, "{{-") {
				b.WriteString("-")
			}
			b.WriteString(" (")
			b.WriteString(t.Args)
			b.WriteString(") | " + htmlFilter + " ")
			if strings.HasSuffix(t.Source, "-}}") {
				b.WriteString("-")
			}
			b.WriteString("}}")
		default:
			b.WriteString(t.Source)
		}
	}
	return b.String()
}

// escapes reports whether the last filter of a value escapes it for HTML.
func escapes(args string) bool {
	toks := lex(args)
	for i := len(toks) - 2; i >= 0; i-- {
		if toks[i].text == "|" {
			name := toks[i+1].text
			return (name == "escape" || name == "escape_once") && i+2 == len(toks)
		}
	}
	return false
}

// A token of Liquid's expression language, lexed as the liquid package's
// scanner does.
type token struct {
	kind tokenKind
	text string // identifier, property or keyword name; string contents; number; punctuation
}

type tokenKind int

const (
	tPunct    tokenKind = iota // ( ) [ ] | , = < > and two-character operators
	tIdent                     // name
	tKeyword                   // name: (a filter with arguments or a loop modifier)
	tProperty                  // .name
	tString
	tNumber
	tLiteral // true false nil
	tOp      // and or contains
	tIn
	tDotDot
)

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isIdentChar(c byte) bool {
	return isAlpha(c) || isDigit(c) || c == '_' || c == '-'
}

// lex splits an expression into tokens. It never fails: the liquid parser
// has already refused what does not parse.
func lex(s string) []token {
	var toks []token
	ident := func(i int) int {
		for i < len(s) && isIdentChar(s[i]) {
			i++
		}
		if i < len(s) && s[i] == '?' {
			i++
		}
		return i
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '"' || c == '\'':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				toks = append(toks, token{tString, s[i+1:]})
				return toks
			}
			toks = append(toks, token{tString, s[i+1 : i+1+j]})
			i += j + 2
		case isDigit(c) || c == '-' && i+1 < len(s) && isDigit(s[i+1]):
			j := i + 1
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			if j+1 < len(s) && s[j] == '.' && isDigit(s[j+1]) {
				j += 2
				for j < len(s) && isDigit(s[j]) {
					j++
				}
			}
			toks = append(toks, token{tNumber, s[i:j]})
			i = j
		case c == '.' && i+1 < len(s) && s[i+1] == '.':
			toks = append(toks, token{tDotDot, ".."})
			i += 2
		case c == '.' && i+1 < len(s) && (isAlpha(s[i+1]) || s[i+1] == '_'):
			j := ident(i + 1)
			toks = append(toks, token{tProperty, s[i+1 : j]})
			i = j
		case isAlpha(c) || c == '_':
			j := ident(i)
			name := s[i:j]
			switch {
			case j < len(s) && s[j] == ':':
				toks = append(toks, token{tKeyword, name})
				j++
			case name == "true" || name == "false" || name == "nil":
				toks = append(toks, token{tLiteral, name})
			case name == "and" || name == "or" || name == "contains":
				toks = append(toks, token{tOp, name})
			case name == "in":
				toks = append(toks, token{tIn, name})
			default:
				toks = append(toks, token{tIdent, name})
			}
			i = j
		case i+1 < len(s) && (s[i:i+2] == "==" || s[i:i+2] == "!=" || s[i:i+2] == ">=" || s[i:i+2] == "<="):
			toks = append(toks, token{tPunct, s[i : i+2]})
			i += 2
		default:
			toks = append(toks, token{tPunct, s[i : i+1]})
			i++
		}
	}
	return toks
}
