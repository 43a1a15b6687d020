package posterfake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults of Config.
const (
	DefaultAppID         = "76"
	DefaultAppSecret     = "9642176a5cdfe3f65e6e00c27b668795"
	DefaultAccount       = "api-demo"
	DefaultAccountNumber = "861052"
	// DefaultToken is a token that works from the start.
	DefaultToken = DefaultAccountNumber + ":02391570ff9af128e93c5a771055ba88"
)

// Config sets up a Server; zero fields take the defaults.
type Config struct {
	AppID         string
	AppSecret     string
	Account       string
	AccountNumber string
	// Token is a valid access token from the start.
	Token string
}

// Failure is an answer the server gives instead of serving a call.
type Failure struct {
	// HTTPStatus of the answer; 0 means 200 (Poster's usual status for errors).
	HTTPStatus int
	// Code and Message make a {"error":{"code","message"}} body; Code 0 with
	// a status other than 200 gives a plain-text body instead.
	Code    int
	Message string
	// RetryAfter, when set, is sent as Retry-After in seconds.
	RetryAfter time.Duration
}

// Poster's errors (en/web/errors.md, en/start/request.md).
var (
	ErrNoToken     = Failure{Code: 10, Message: "access_token is not specified"}
	ErrBadToken    = Failure{Code: 11, Message: "Bad access token"}
	ErrExpired     = Failure{Code: 12, Message: "access_token expired"}
	ErrRateLimited = Failure{Code: 700, Message: "Rate restriction"}
	ErrServer      = Failure{HTTPStatus: http.StatusInternalServerError, Message: "Internal Server Error"}
)

// Product is one line of a Transaction.
type Product struct {
	ProductID      int64
	ModificationID int64
	// Num is the count as Poster sends it ("1", "0.5"); "" means "1".
	Num string
	// Price is the unit price in minor units; PayedSum what was paid for the
	// line (0 means Price × Num when Num is whole).
	Price    int64
	PayedSum int64
}

// Transaction is a check the server returns from dash.getTransaction.
type Transaction struct {
	ID int64
	// Status: 1 open, 2 closed, 3 removed; 0 means 2.
	Status int
	// ClosedAt is date_close; zero means now for a closed check.
	ClosedAt time.Time
	// Sum and PayedSum are in minor units; 0 Sum means PayedSum. PayedSum is
	// paid by card when PayedCash is 0.
	Sum, PayedSum, PayedCash, PayedBonus int64
	ClientID                             int64
	SpotID                               int64
	Products                             []Product
}

// Client is a customer the server knows.
type Client struct {
	ID        int64
	Firstname string
	Lastname  string
	// Phone is as typed at the till ("+380 50 11-11-111").
	Phone    string
	Email    string
	Birthday string
	GroupID  int64
	Deleted  bool
}

// Group is a customer group.
type Group struct {
	ID       int64
	Name     string
	Discount int
	// LoyaltyType: 1 points, 2 discount.
	LoyaltyType int
	Deleted     bool
}

// Server is a fake Poster API. Close it when done.
type Server struct {
	// URL is the server's root; the API root is URL + "/api" (APIURL).
	URL string
	srv *httptest.Server
	cfg Config

	mu        sync.Mutex
	calls     int
	byMethod  map[string]int
	tokens    map[string]bool
	codes     map[string]string // code → redirect_uri
	txs       map[int64]Transaction
	clients   map[int64]Client
	groups    map[int64]Group
	nextID    int64
	failNext  []Failure
	delay     time.Duration
	down      bool
	redirects []string
}

// New starts a fake Poster.
func New(cfg Config) *Server {
	if cfg.AppID == "" {
		cfg.AppID = DefaultAppID
	}
	if cfg.AppSecret == "" {
		cfg.AppSecret = DefaultAppSecret
	}
	if cfg.Account == "" {
		cfg.Account = DefaultAccount
	}
	if cfg.AccountNumber == "" {
		cfg.AccountNumber = DefaultAccountNumber
	}
	if cfg.Token == "" {
		cfg.Token = DefaultToken
	}
	s := &Server{
		cfg: cfg, byMethod: map[string]int{}, tokens: map[string]bool{cfg.Token: true},
		codes: map[string]string{}, txs: map[int64]Transaction{}, clients: map[int64]Client{},
		groups: map[int64]Group{}, nextID: 1000,
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// APIURL is the API root to give poster.Client.BaseURL.
func (s *Server) APIURL() string { return s.URL + "/api" }

// Config returns the configuration with defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// Token returns the token valid from the start.
func (s *Server) Token() string { return s.cfg.Token }

// RevokeToken makes a token fail with error 11 from now on (the owner
// disconnected the app).
func (s *Server) RevokeToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, token)
}

// RevokeAllTokens makes every token issued so far fail with error 11 (the
// owner removed the application from the account).
func (s *Server) RevokeAllTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// AddTransaction stores a check (replacing one with the same id; id 0 gets a
// new one) and returns its id.
func (s *Server) AddTransaction(tx Transaction) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tx.ID == 0 {
		s.nextID++
		tx.ID = s.nextID
	}
	if tx.Status == 0 {
		tx.Status = 2
	}
	if tx.Status == 2 && tx.ClosedAt.IsZero() {
		tx.ClosedAt = time.Now()
	}
	s.txs[tx.ID] = tx
	return tx.ID
}

// AddClient stores a customer (id 0 gets a new one) and returns its id.
func (s *Server) AddClient(c Client) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.ID == 0 {
		s.nextID++
		c.ID = s.nextID
	}
	s.clients[c.ID] = c
	return c.ID
}

// AddGroup stores a customer group (id 0 gets a new one) and returns its id.
func (s *Server) AddGroup(g Group) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g.ID == 0 {
		s.nextID++
		g.ID = s.nextID
	}
	if g.LoyaltyType == 0 {
		g.LoyaltyType = 2
	}
	s.groups[g.ID] = g
	return g.ID
}

// Clients returns the customers, created ones included, by id.
func (s *Server) Clients() map[int64]Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[int64]Client, len(s.clients))
	for k, v := range s.clients {
		out[k] = v
	}
	return out
}

// Groups returns the customer groups by id.
func (s *Server) Groups() map[int64]Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[int64]Group, len(s.groups))
	for k, v := range s.groups {
		out[k] = v
	}
	return out
}

// FailNext makes the next n API calls (OAuth endpoints included) answer f.
func (s *Server) FailNext(n int, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failNext = append(s.failNext, f)
	}
}

// RateLimitNext makes the next n calls answer error 700 with HTTP 200.
func (s *Server) RateLimitNext(n int) { s.FailNext(n, ErrRateLimited) }

// ServerErrorNext makes the next n calls answer HTTP 500.
func (s *Server) ServerErrorNext(n int) { s.FailNext(n, ErrServer) }

// SetDelay makes every call wait d before answering (or until the client
// gives up).
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// SetDown makes the server drop every connection (true) or serve again.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
	if down {
		s.srv.CloseClientConnections()
	}
}

// Calls returns how many requests reached the server.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// CallsTo returns how many requests named an API method
// ("dash.getTransaction", "auth", "v2/auth/access_token").
func (s *Server) CallsTo(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byMethod[method]
}

// Redirects returns the Location of every authorize redirect, in order.
func (s *Server) Redirects() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.redirects...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	s.mu.Lock()
	s.calls++
	s.byMethod[method]++
	down, delay := s.down, s.delay
	s.mu.Unlock()
	if down {
		drop(w)
		return
	}
	_ = r.ParseForm()
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failNext) > 0 {
		f := s.failNext[0]
		s.failNext = s.failNext[1:]
		writeFailure(w, f)
		return
	}
	switch method {
	case "auth":
		s.authorize(w, r)
		return
	case "v2/auth/access_token":
		s.accessToken(w, r)
		return
	}
	token := r.URL.Query().Get("token")
	if token == "" {
		writeFailure(w, ErrNoToken)
		return
	}
	if !s.tokens[token] {
		writeFailure(w, ErrBadToken)
		return
	}
	q := r.URL.Query()
	switch {
	case method == "dash.getTransaction" && r.Method == http.MethodGet:
		id, _ := strconv.ParseInt(q.Get("transaction_id"), 10, 64)
		tx, ok := s.txs[id]
		if !ok {
			writeResponse(w, []any{})
			return
		}
		writeResponse(w, []any{txJSON(tx, q.Get("include_products") == "true")})
	case method == "clients.getClient" && r.Method == http.MethodGet:
		id, _ := strconv.ParseInt(q.Get("client_id"), 10, 64)
		c, ok := s.clients[id]
		if !ok {
			writeResponse(w, []any{})
			return
		}
		writeResponse(w, []any{s.clientJSON(c)})
	case method == "clients.getClients" && r.Method == http.MethodGet:
		phone, group := digits(q.Get("phone")), q.Get("group_id")
		out := []any{}
		for _, id := range sortedKeys(s.clients) {
			c := s.clients[id]
			if (phone != "" && digits(c.Phone) != phone) || (group != "" && strconv.FormatInt(c.GroupID, 10) != group) {
				continue
			}
			out = append(out, s.clientJSON(c))
		}
		writeResponse(w, out)
	case method == "clients.createClient" && r.Method == http.MethodPost:
		s.createClient(w, r)
	case method == "clients.getGroups" && r.Method == http.MethodGet:
		out := []any{}
		for _, id := range sortedKeys(s.groups) {
			out = append(out, s.groupJSON(s.groups[id]))
		}
		writeResponse(w, out)
	case method == "clients.createGroup" && r.Method == http.MethodPost:
		name := strings.TrimSpace(r.PostForm.Get("client_groups_name"))
		if name == "" {
			writeFailure(w, Failure{Code: 34, Message: "Absence of required properties: client_groups_name"})
			return
		}
		lt, _ := strconv.Atoi(r.PostForm.Get("loyalty_type"))
		disc, _ := strconv.Atoi(r.PostForm.Get("client_groups_discount"))
		s.nextID++
		s.groups[s.nextID] = Group{ID: s.nextID, Name: name, LoyaltyType: lt, Discount: disc}
		writeResponse(w, s.nextID)
	default:
		writeFailure(w, Failure{Code: 400, Message: "Invalid request format: unknown method " + method})
	}
}

func (s *Server) createClient(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	name := strings.TrimSpace(f.Get("client_name"))
	gid, _ := strconv.ParseInt(f.Get("client_groups_id_client"), 10, 64)
	if name == "" || gid == 0 {
		writeFailure(w, Failure{Code: 34, Message: "Absence of required properties"})
		return
	}
	if g, ok := s.groups[gid]; !ok || g.Deleted {
		writeFailure(w, Failure{Code: 32, Message: "The ID doesn't exist: client_groups_id_client"})
		return
	}
	phone := f.Get("phone")
	if p := digits(phone); p != "" {
		for _, c := range s.clients {
			if !c.Deleted && digits(c.Phone) == p {
				writeFailure(w, Failure{Code: 99, Message: "Entity repetition: phone"})
				return
			}
		}
	}
	last, first, _ := strings.Cut(name, " ")
	s.nextID++
	s.clients[s.nextID] = Client{ID: s.nextID, Lastname: last, Firstname: first, Phone: phone,
		Email: f.Get("email"), Birthday: f.Get("birthday"), GroupID: gid}
	writeResponse(w, s.nextID)
}

// authorize answers /api/auth: a 302 to redirect_uri with a fresh code, the
// account and the state.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	appID := q.Get("application_id")
	if appID == "" {
		appID = q.Get("client_id")
	}
	ru, err := url.Parse(q.Get("redirect_uri"))
	if appID != s.cfg.AppID || q.Get("response_type") != "code" || err != nil || ru.Scheme == "" {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	code := randomHex(16)
	s.codes[code] = q.Get("redirect_uri")
	rq := ru.Query()
	rq.Set("code", code)
	rq.Set("account", s.cfg.Account)
	if st := q.Get("state"); st != "" {
		rq.Set("state", st)
	}
	ru.RawQuery = rq.Encode()
	s.redirects = append(s.redirects, ru.String())
	http.Redirect(w, r, ru.String(), http.StatusFound)
}

// accessToken answers /api/v2/auth/access_token.
func (s *Server) accessToken(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	fail := func(code int, typ, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "error_type": typ, "error_message": msg})
	}
	if r.Method != http.MethodPost {
		fail(400, "invalid_request", "POST form-data expected")
		return
	}
	if f.Get("application_id") != s.cfg.AppID {
		fail(143, "invalid_client", "Invalid application_id")
		return
	}
	if f.Get("application_secret") != s.cfg.AppSecret {
		fail(142, "invalid_client", "Invalid application_secret")
		return
	}
	if f.Get("grant_type") != "authorization_code" {
		fail(400, "unsupported_grant_type", "grant_type must be authorization_code")
		return
	}
	ru, ok := s.codes[f.Get("code")]
	if !ok || ru != f.Get("redirect_uri") {
		fail(400, "invalid_grant", "Invalid code or redirect_uri")
		return
	}
	delete(s.codes, f.Get("code"))
	token := s.cfg.AccountNumber + ":" + randomHex(16)
	s.tokens[token] = true
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": token, "account_number": s.cfg.AccountNumber,
		"user": map[string]any{"id": 4, "name": "Poster", "email": "dev@joinposter.com", "role_id": 3},
		"ownerInfo": map[string]any{"email": "dev@joinposter.com", "phone": "+380684152664", "city": "",
			"country": "UA", "name": "Poster", "company_name": "dev-example"},
	})
}

func txJSON(tx Transaction, products bool) map[string]any {
	str := func(n int64) string { return strconv.FormatInt(n, 10) }
	sum := tx.Sum
	if sum == 0 {
		sum = tx.PayedSum
	}
	card := tx.PayedSum - tx.PayedCash
	payType := "2"
	switch {
	case tx.PayedSum == 0:
		payType = "0"
	case tx.PayedCash == tx.PayedSum:
		payType = "1"
	case tx.PayedCash > 0:
		payType = "3"
	}
	dateClose, dateCloseDate := "0", ""
	if tx.Status == 2 {
		dateClose = str(tx.ClosedAt.UnixMilli())
		dateCloseDate = tx.ClosedAt.UTC().Format(time.DateTime)
	}
	spot := tx.SpotID
	if spot == 0 {
		spot = 1
	}
	m := map[string]any{
		"transaction_id": str(tx.ID), "date_start": str(tx.ClosedAt.Add(-10 * time.Minute).UnixMilli()),
		"date_close": dateClose, "status": strconv.Itoa(tx.Status), "guests_count": "1", "discount": "0",
		"bonus": "0", "pay_type": payType, "payed_bonus": str(tx.PayedBonus), "payed_card": str(card),
		"payed_cash": str(tx.PayedCash), "payed_sum": str(tx.PayedSum), "payed_cert": "0",
		"payed_third_party": "0", "round_sum": "0", "tip_sum": "0", "tips_card": "0", "tips_cash": "0",
		"sum": str(sum), "spot_id": str(spot), "table_id": "0", "name": "Cashier", "user_id": "1",
		"client_id": str(tx.ClientID), "card_number": "0", "transaction_comment": nil, "reason": "",
		"print_fiscal": "0", "total_profit": "0", "table_name": "", "client_firstname": nil,
		"client_lastname": nil, "date_close_date": dateCloseDate,
	}
	if products {
		ps := []any{}
		for _, p := range tx.Products {
			num := p.Num
			if num == "" {
				num = "1"
			}
			paid := p.PayedSum
			if n, err := strconv.ParseInt(num, 10, 64); err == nil && paid == 0 {
				paid = p.Price * n
			}
			ps = append(ps, map[string]any{
				"product_id": str(p.ProductID), "modification_id": str(p.ModificationID), "num": num,
				"product_price": str(p.Price), "payed_sum": str(paid), "product_cost": "0",
				"product_profit": str(paid),
			})
		}
		m["products"] = ps
	}
	return m
}

func (s *Server) clientJSON(c Client) map[string]any {
	g := s.groups[c.GroupID]
	del := "0"
	if c.Deleted {
		del = "1"
	}
	birthday := c.Birthday
	if birthday == "" {
		birthday = "0000-00-00"
	}
	return map[string]any{
		"client_id": strconv.FormatInt(c.ID, 10), "firstname": c.Firstname, "lastname": c.Lastname,
		"patronymic": "", "discount_per": "0", "bonus": "0", "total_payed_sum": "0",
		"date_activale": "2017-10-09 15:28:14", "phone": c.Phone, "phone_number": digits(c.Phone),
		"email": c.Email, "birthday": birthday, "card_number": "0", "client_sex": "0", "country": "0",
		"city": "0", "comment": "0", "address": "0", "client_groups_id": strconv.FormatInt(c.GroupID, 10),
		"client_groups_name": g.Name, "client_groups_discount": strconv.Itoa(g.Discount),
		"loyalty_type": strconv.Itoa(g.LoyaltyType), "birthday_bonus": "0", "delete": del, "ewallet": "0",
	}
}

func (s *Server) groupJSON(g Group) map[string]any {
	n := 0
	for _, c := range s.clients {
		if c.GroupID == g.ID && !c.Deleted {
			n++
		}
	}
	del := "0"
	if g.Deleted {
		del = "1"
	}
	return map[string]any{
		"client_groups_id": strconv.FormatInt(g.ID, 10), "client_groups_name": g.Name,
		"client_groups_discount": strconv.Itoa(g.Discount), "loyalty_type": strconv.Itoa(g.LoyaltyType),
		"birthday_bonus": "0", "count_groups_clients": strconv.Itoa(n), "use_ewallet": "0", "delete": del,
	}
}

// writeResponse answers {"response": v}.
func writeResponse(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"response": v})
}

// writeFailure answers f.
func writeFailure(w http.ResponseWriter, f Failure) {
	status := f.HTTPStatus
	if status == 0 {
		status = http.StatusOK
	}
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(f.RetryAfter/time.Second)))
	}
	if f.Code == 0 && status != http.StatusOK {
		http.Error(w, f.Message, status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": f.Code, "message": f.Message}})
}

// drop closes the connection without answering.
func drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("posterfake: connection cannot be hijacked")
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		conn.Close()
	}
}

func digits(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func sortedKeys[V any](m map[int64]V) []int64 {
	keys := make([]int64, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
