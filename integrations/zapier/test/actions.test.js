'use strict';

// Creates and searches against the demo business of `hub dev` (its key and
// card template are read from the hub's output), in the order a till would
// use them: issue a card, stamp it up to a reward, find and redeem the
// reward's code.

const { App, appTester, demoAuthData, errorDetails, hub, thrown, uniqueEmail } = require('./support/helpers');

const run = (kind, key, inputData) =>
  appTester(App[kind][key].operation.perform, { authData: demoAuthData(), inputData });

describe('creates and searches', () => {
  const email = uniqueEmail('flow');
  const phone = `+38067${String(Date.now()).slice(-7)}`;
  let card;
  let reward;

  it('finds no card for a new customer (the search of "Find or Issue Card")', async () => {
    expect(await run('searches', 'find_card', { email, template_id: hub().templateId })).toEqual([]);
  });

  it('issues a card, and returns the same card when asked again', async () => {
    card = await run('creates', 'issue_card', {
      template_id: hub().templateId,
      email: email.toUpperCase(),
      phone: phone.replace(/(\d{3})(\d{3})$/, ' $1-$2'),
      name: 'Ann Tester',
      birthday: '1990-04-23',
    });
    expect(card.id).toMatch(/^card_/);
    expect(card.newly_issued).toBe(true);
    expect(card.template_id).toBe(hub().templateId);
    expect(card.customer).toMatchObject({ email, phone, name: 'Ann Tester', birthday: '1990-04-23' });
    expect(card.stamps).toBe(0);

    const again = await run('creates', 'issue_card', { template_id: hub().templateId, email });
    expect(again.id).toBe(card.id);
    expect(again.newly_issued).toBe(false);
  });

  it('finds the card by email, phone and template', async () => {
    const byEmail = await run('searches', 'find_card', { email, template_id: hub().templateId });
    expect(byEmail.map((c) => c.id)).toEqual([card.id]);
    const byPhone = await run('searches', 'find_card', { phone });
    expect(byPhone.map((c) => c.id)).toEqual([card.id]);
  });

  it('finds the customer by email or phone', async () => {
    const [byEmail] = await run('searches', 'find_customer', { email });
    expect(byEmail).toMatchObject({ id: card.customer.id, email, phone });
    const [byPhone] = await run('searches', 'find_customer', { phone });
    expect(byPhone.id).toBe(card.customer.id);
    expect(await run('searches', 'find_customer', { email: uniqueEmail('nobody') })).toEqual([]);
  });

  it('refuses a customer search without email or phone', async () => {
    const details = errorDetails(await thrown(() => run('searches', 'find_customer', {})));
    expect(details.message).toMatch(/email or the customer phone/);
  });

  it('adds stamps by card id, below the first goal', async () => {
    const result = await run('creates', 'add_stamps', { card_id: card.id, count: '4', note: 'order 41' });
    expect(result.card).toMatchObject({ id: card.id, stamps: 4, stamps_total: 4 });
    expect(result.events.map((e) => e.event)).toEqual(['stamp_added']);
    expect(result.rewards).toEqual([]);
  });

  it('adds a stamp by customer email and gets the reward of the first goal', async () => {
    const result = await run('creates', 'add_stamps', { email, template_id: hub().templateId });
    expect(result.card.stamps).toBe(5);
    expect(result.events.map((e) => e.event)).toEqual(['stamp_added', 'goal_reached', 'reward_issued']);
    expect(result.rewards).toHaveLength(1);
    [reward] = result.rewards;
    expect(reward).toMatchObject({ type: 'reward', status: 'issued', card_id: card.id, title: 'Free espresso' });
    expect(reward.redeem_code).toMatch(/^[A-Z0-9]{8}$/);
  });

  it('finds the reward by its redeem code, in any case', async () => {
    const [found] = await run('searches', 'find_voucher', { redeem_code: reward.redeem_code.toLowerCase() });
    expect(found).toMatchObject({ id: reward.id, status: 'issued' });
  });

  it('redeems the reward once; a second redeem is already_redeemed', async () => {
    const redeemed = await run('creates', 'redeem_voucher', { redeem_code: reward.redeem_code, redeemed_via: 'pos' });
    expect(redeemed).toMatchObject({ id: reward.id, status: 'redeemed', redeemed_via: 'pos' });
    expect(redeemed.redeemed_at).toEqual(expect.any(String));

    const details = errorDetails(
      await thrown(() => run('creates', 'redeem_voucher', { redeem_code: reward.redeem_code })),
    );
    expect(details).toMatchObject({ code: 'already_redeemed', status: 409 });
    expect(details.message).toMatch(/^already_redeemed: /);

    const [found] = await run('searches', 'find_voucher', { redeem_code: reward.redeem_code });
    expect(found.status).toBe('redeemed');
  });

  it('shows the redemption in the voucher_redeemed trigger list', async () => {
    const events = await appTester(App.triggers.voucher_redeemed.operation.performList, { authData: demoAuthData() });
    expect(events[0]).toMatchObject({
      event: 'voucher_redeemed',
      customer: { email },
      voucher: { id: reward.id, redeem_code: reward.redeem_code, status: 'redeemed', redeemed_via: 'pos' },
    });
  });

  it('issues a custom voucher by email with its own code, and finds it', async () => {
    const code = `ZAP-${Date.now().toString(36).toUpperCase()}`;
    const voucher = await run('creates', 'issue_voucher', {
      email,
      title: 'Welcome drink',
      redeem_code: code,
      expires_at: '2099-12-31T23:59:59+02:00',
    });
    expect(voucher).toMatchObject({
      type: 'voucher',
      title: 'Welcome drink',
      redeem_code: code,
      status: 'issued',
      customer_id: card.customer.id,
      expires_at: '2099-12-31T21:59:59Z',
    });
    const [found] = await run('searches', 'find_voucher', { redeem_code: code });
    expect(found.id).toBe(voucher.id);
  });

  it('issues a voucher to the holder of a card', async () => {
    const voucher = await run('creates', 'issue_voucher', { card_id: card.id, title: 'Birthday cake' });
    expect(voucher).toMatchObject({ card_id: card.id, customer_id: card.customer.id, status: 'issued' });
  });

  it('explains a voucher without a title or template', async () => {
    const details = errorDetails(await thrown(() => run('creates', 'issue_voucher', { email })));
    expect(details.message).toMatch(/Title or a Voucher Template ID/);
  });

  it('pairs Find Card with Issue Card in a search-or-create', () => {
    const soc = App.searchOrCreates.find_card;
    expect(soc).toMatchObject({ key: 'find_card', search: 'find_card', create: 'issue_card' });
    const searchKeys = App.searches.find_card.operation.inputFields.map((f) => f.key);
    const createKeys = App.creates.issue_card.operation.inputFields.map((f) => f.key);
    // Every search input is an input of the create, so Zapier hands them over.
    expect(createKeys).toEqual(expect.arrayContaining(searchKeys));
  });

  it('runs search-or-create end to end: a miss, then the create, then a hit', async () => {
    const newcomer = uniqueEmail('soc');
    const input = { email: newcomer, template_id: hub().templateId };
    expect(await run('searches', 'find_card', input)).toEqual([]);
    const created = await run('creates', 'issue_card', input);
    expect(created.newly_issued).toBe(true);
    const [hit] = await run('searches', 'find_card', input);
    expect(hit.id).toBe(created.id);
  });
});
