package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

func TestCustomersPages(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		h := newHarness(t, st)
		pr := h.principal(h.business.ID, "till")
		ann := h.customer(pr, "ann@example.com", "<script>alert(1)</script>")
		bob := h.customer(pr, "bob@example.com", "Bob")
		if _, err := h.svc.UpdateCustomer(h.ctx, h.business.ID, ann.CustomerID, hub.CustomerPatch{Phone: ptr("+66812345678"),
			Consent: map[string]bool{"email": true, "telegram": false}}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.IssueVoucher(h.ctx, pr, hub.IssueVoucherInput{CustomerID: &ann.CustomerID, Title: ptr("Free cake"),
			RedeemCode: ptr("CAKE2026")}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.TestChannel(h.ctx, h.business, "email", hub.ChannelTestInput{CustomerID: &ann.CustomerID}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.TestChannel(h.ctx, h.business, "email", hub.ChannelTestInput{CustomerID: &bob.CustomerID, Text: ptr("for Bob")}); err != nil {
			t.Fatal(err)
		}
		// Another business's customer with the same email.
		other, _ := h.newBusiness("Other shop", "otherlogin", "other@example.com")
		stranger := h.customer(h.principal(other.ID, "othertill"), "ann@example.com", "Stranger")

		b := h.browser()
		b.login("owner@example.com")
		p := b.get("/console/customers")
		want(t, p, http.StatusOK)
		contains(t, p, `aria-current="page">Customers</a>`, `<label for="email">Email</label>`, `<label for="phone">Phone</label>`,
			">Search</button>", "/console/customers/"+ann.CustomerID, "/console/customers/"+bob.CustomerID,
			"&lt;script&gt;alert(1)&lt;/script&gt;")
		if strings.Contains(p.body, "<script>alert(1)") || strings.Contains(p.body, "Stranger") {
			t.Error("the name is not escaped, or another business's customer is listed")
		}

		contains(t, b.get("/console/customers?lang=hi"), "<h1>ग्राहक</h1>", ">खोजें</button>")
		contains(t, b.get("/console/channels/email?lang=th"), ">ส่งข้อความทดสอบ</h2>")

		// Search by email, by phone (normalized by the service), and a bad phone.
		p = b.get("/console/customers?email=BOB@example.com")
		want(t, p, http.StatusOK)
		contains(t, p, "/console/customers/"+bob.CustomerID, `value="BOB@example.com"`)
		if strings.Contains(p.body, ann.CustomerID) {
			t.Error("the email search lists another customer")
		}
		p = b.get("/console/customers?phone=%2B66+81+234+5678")
		contains(t, p, "/console/customers/"+ann.CustomerID)
		if strings.Contains(p.body, bob.CustomerID) {
			t.Error("the phone search lists another customer")
		}
		contains(t, b.get("/console/customers?email=nobody@example.com"), "No customers found.")
		p = b.get("/console/customers?phone=abc")
		want(t, p, http.StatusUnprocessableEntity)
		contains(t, p, `id="phone-error">must be a phone number in international format</p>`)

		// The customer's page: card, consent, voucher, deliveries to them only.
		p = b.get("/console/customers/" + ann.CustomerID)
		want(t, p, http.StatusOK)
		contains(t, p, "<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>", "ann@example.com", "&#43;66812345678",
			"<code>"+ann.ID+"</code>", "5: Free coffee",
			`<td>email</td>`+"\n    \n    "+`<td><span class="badge ok">Granted</span></td>`,
			`<span class="badge bad">Withdrawn</span>`, "Not asked",
			"<td>Free cake</td>", "<code>CAKE2026</code>", "issued",
			"<code>test:", "No messenger contacts.")
		if strings.Contains(p.body, "<script>alert(1)") {
			t.Error("the name is not escaped")
		}
		ds, _, _ := h.svc.Deliveries(h.ctx, hub.DeliveryFilter{BusinessID: h.business.ID, CustomerID: bob.CustomerID, Page: hub.Page{Limit: 5}})
		if len(ds) != 1 || strings.Count(p.body, "<code>test:") != 1 || strings.Contains(p.body, ds[0].Source) {
			t.Error("the page shows another customer's delivery")
		}
		p = b.get("/console/customers/" + bob.CustomerID)
		contains(t, p, "<h1>Bob</h1>", "No vouchers.", ds[0].Source)

		// Another business's customer, and ids that are none, are the 404 page.
		for _, id := range []string{stranger.CustomerID, "c_nonsense", "nonsense"} {
			p := b.get("/console/customers/" + id)
			want(t, p, http.StatusNotFound)
			contains(t, p, "Page not found.")
		}
	})
}
