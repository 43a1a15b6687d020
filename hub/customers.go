package hub

import (
	"context"
)

// CustomerInput identifies a customer by email or phone and, when the customer
// is new or lacks them, supplies the other details.
type CustomerInput struct {
	Email    *string `json:"email"`
	Phone    *string `json:"phone"`
	Name     *string `json:"name"`
	Language *string `json:"language"`
	Birthday *string `json:"birthday"`
}

// ContactInput identifies a customer by email or phone.
type ContactInput struct {
	Email *string `json:"email"`
	Phone *string `json:"phone"`
}

// contact is a validated email and/or phone.
type contact struct{ email, phone string }

func (s *Service) checkContact(p Problems, field string, email, phone *string) contact {
	var c contact
	if email != nil && *email != "" {
		var ok bool
		if c.email, ok = NormalizeEmail(*email); !ok {
			p.Add(field+".email", "must be an email address")
		}
	}
	if phone != nil && *phone != "" {
		var ok bool
		if c.phone, ok = NormalizePhone(*phone); !ok {
			p.Add(field+".phone", "must be a phone number in international format, e.g. +380671234567")
		}
	}
	if (email == nil || *email == "") && (phone == nil || *phone == "") {
		p.Add(field, "needs an email or a phone")
	}
	return c
}

// customerDetails are the validated optional details of a CustomerInput.
type customerDetails struct {
	name, language, birthday *string
}

func (s *Service) checkDetails(p Problems, field string, in CustomerInput) customerDetails {
	var d customerDetails
	d.name = optionalText(p, field+".name", in.Name, 200)
	if in.Language != nil && *in.Language != "" {
		lang, ok := NormalizeLanguage(*in.Language)
		if !ok {
			p.Add(field+".language", "must be a language code such as en or uk")
		}
		d.language = &lang
	}
	if in.Birthday != nil && *in.Birthday != "" {
		b, ok := NormalizeBirthday(*in.Birthday, s.clock())
		if !ok {
			p.Add(field+".birthday", "must be a past date as YYYY-MM-DD")
		}
		d.birthday = &b
	}
	return d
}

// findCustomer looks a customer up by email and by phone; when both match
// different customers the request is a conflict.
func findCustomer(ctx context.Context, tx Tx, businessID string, c contact) (*Customer, error) {
	var byEmail, byPhone *Customer
	var err error
	if c.email != "" {
		if byEmail, err = tx.CustomerByContact(ctx, businessID, c.email, ""); err != nil && ErrorCode(err) != ENotFound {
			return nil, err
		}
	}
	if c.phone != "" {
		if byPhone, err = tx.CustomerByContact(ctx, businessID, "", c.phone); err != nil && ErrorCode(err) != ENotFound {
			return nil, err
		}
	}
	switch {
	case byEmail != nil && byPhone != nil && byEmail.ID != byPhone.ID:
		return nil, Errorf(EConflict, "the email and the phone belong to two different customers")
	case byEmail != nil:
		return byEmail, nil
	case byPhone != nil:
		return byPhone, nil
	}
	return nil, NotFound("customer")
}

// findOrCreateCustomer returns the customer with the contact, creating it (and
// filling details it lacks) as needed.
func (s *Service) findOrCreateCustomer(ctx context.Context, tx Tx, biz *Business, c contact, d customerDetails) (*Customer, error) {
	now := s.clock()
	cust, err := findCustomer(ctx, tx, biz.ID, c)
	if ErrorCode(err) == ENotFound {
		cust = &Customer{
			ID: NewID(PrefixCustomer), BusinessID: biz.ID, Language: biz.DefaultLanguage,
			Consent: map[string]Consent{}, CreatedAt: now, UpdatedAt: now,
		}
		if c.email != "" {
			cust.Email = &c.email
		}
		if c.phone != "" {
			cust.Phone = &c.phone
		}
		cust.Name, cust.Birthday = d.name, d.birthday
		if d.language != nil {
			cust.Language = *d.language
		}
		return cust, tx.CreateCustomer(ctx, cust)
	}
	if err != nil {
		return nil, err
	}
	changed := false
	fill := func(dst **string, v *string) {
		if *dst == nil && v != nil && *v != "" {
			*dst, changed = v, true
		}
	}
	if c.email != "" {
		fill(&cust.Email, &c.email)
	}
	if c.phone != "" {
		fill(&cust.Phone, &c.phone)
	}
	fill(&cust.Name, d.name)
	fill(&cust.Birthday, d.birthday)
	if changed {
		cust.UpdatedAt = now
		if err := tx.UpdateCustomer(ctx, cust); err != nil {
			return nil, err
		}
	}
	return cust, nil
}

// Customer returns one of a business's customers.
func (s *Service) Customer(ctx context.Context, businessID, id string) (*Customer, error) {
	var c *Customer
	err := s.read(ctx, func(tx Tx) error {
		var err error
		c, err = tx.Customer(ctx, businessID, id)
		return err
	})
	return c, err
}

// Customers lists a business's customers, optionally by email or phone.
func (s *Service) Customers(ctx context.Context, f CustomerFilter) ([]*Customer, *string, error) {
	var err error
	if f.Email, f.Phone, err = contactFilter(f.Email, f.Phone); err != nil {
		return nil, nil, err
	}
	if err := CheckPage(f.Page, PrefixCustomer); err != nil {
		return nil, nil, err
	}
	var cs []*Customer
	if err := s.read(ctx, func(tx Tx) error {
		var err error
		cs, err = tx.Customers(ctx, f)
		return err
	}); err != nil {
		return nil, nil, err
	}
	items, next := page(cs, f.Page, func(c *Customer) string { return c.ID })
	return items, next, nil
}

// contactFilter normalizes the email and phone of a search; empty means any.
func contactFilter(email, phone string) (string, string, error) {
	p := Problems{}
	if email != "" {
		e, ok := NormalizeEmail(email)
		if !ok {
			p.Add("email", "must be an email address")
		}
		email = e
	}
	if phone != "" {
		ph, ok := NormalizePhone(phone)
		if !ok {
			p.Add("phone", "must be a phone number in international format")
		}
		phone = ph
	}
	return email, phone, p.Err()
}

// CustomerPatch changes a customer. Absent fields stay; an empty string clears
// name or birthday. Consent maps a channel to granted (true) or withdrawn (false).
type CustomerPatch struct {
	Name     *string         `json:"name"`
	Language *string         `json:"language"`
	Birthday *string         `json:"birthday"`
	Email    *string         `json:"email"`
	Phone    *string         `json:"phone"`
	Consent  map[string]bool `json:"consent"`
}

// UpdateCustomer applies a patch. A customer keeps at least an email or a phone.
func (s *Service) UpdateCustomer(ctx context.Context, businessID, id string, in CustomerPatch) (*Customer, error) {
	p := Problems{}
	now := s.clock()
	var email, phone *string
	if in.Email != nil && *in.Email != "" {
		e, ok := NormalizeEmail(*in.Email)
		if !ok {
			p.Add("email", "must be an email address")
		}
		email = &e
	}
	if in.Phone != nil && *in.Phone != "" {
		ph, ok := NormalizePhone(*in.Phone)
		if !ok {
			p.Add("phone", "must be a phone number in international format, e.g. +380671234567")
		}
		phone = &ph
	}
	d := s.checkDetails(p, "", CustomerInput{Name: in.Name, Language: in.Language, Birthday: in.Birthday})
	for ch := range in.Consent {
		if !contains(Channels, ch) {
			p.Add("consent."+ch, "must be one of email, push, telegram, whatsapp, viber")
		}
	}
	if fixed := fixRootFields(p); fixed.Err() != nil {
		return nil, fixed.Err()
	}
	var c *Customer
	err := s.write(ctx, func(tx Tx, _ *outbox) error {
		var err error
		if c, err = tx.Customer(ctx, businessID, id); err != nil {
			return err
		}
		if in.Name != nil {
			c.Name = d.name
		}
		if in.Language != nil && d.language != nil {
			c.Language = *d.language
		}
		if in.Birthday != nil {
			c.Birthday = d.birthday
		}
		if in.Email != nil {
			c.Email = email
		}
		if in.Phone != nil {
			c.Phone = phone
		}
		if c.Email == nil && c.Phone == nil {
			return Problems{"email": "a customer needs an email or a phone"}.Err()
		}
		if c.Consent == nil {
			c.Consent = map[string]Consent{}
		}
		for ch, granted := range in.Consent {
			c.Consent[ch] = Consent{Granted: granted, Source: "api", At: now}
		}
		c.UpdatedAt = now
		return tx.UpdateCustomer(ctx, c)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// fixRootFields turns ".name" paths made with an empty prefix into "name".
func fixRootFields(p Problems) Problems {
	out := Problems{}
	for k, v := range p {
		if len(k) > 0 && k[0] == '.' {
			k = k[1:]
		}
		out[k] = v
	}
	return out
}

func eventCustomer(c *Customer) *EventCustomer {
	if c == nil {
		return nil
	}
	return &EventCustomer{ID: c.ID, WalletPassID: c.WalletPassID, Language: c.Language, Email: c.Email, Phone: c.Phone, Name: c.Name}
}

// CustomerDetail is a customer with their messenger contacts.
type CustomerDetail struct {
	*Customer
	// Contacts are the customer's addresses on messengers and whether they
	// can be reached.
	Contacts []*Contact `json:"contacts"`
}

// CustomerWithContacts returns one of a business's customers with contacts.
func (s *Service) CustomerWithContacts(ctx context.Context, businessID, id string) (*CustomerDetail, error) {
	var d *CustomerDetail
	err := s.read(ctx, func(tx Tx) error {
		c, err := tx.Customer(ctx, businessID, id)
		if err != nil {
			return err
		}
		d = &CustomerDetail{Customer: c, Contacts: []*Contact{}}
		cs, err := tx.Contacts(ctx, businessID, id)
		if len(cs) > 0 {
			d.Contacts = cs
		}
		return err
	})
	return d, err
}
