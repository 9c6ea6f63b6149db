package identity_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/consumers/identity"
	"github.com/sluicehq/sluice/consumers/stage/stagetest"
	"github.com/sluicehq/sluice/internal/kafka"
	"github.com/sluicehq/sluice/internal/testkit"
)

func TestNormalizer(t *testing.T) {
	t.Parallel()
	def := identity.NewNormalizer(false, nil, nil)
	plus := identity.NewNormalizer(true, []string{"example.org"}, []string{"pages.example.com"})
	emails := []struct {
		n       *identity.Normalizer
		in      string
		want    string
		matches bool
	}{
		{def, "  Ada.Lovelace@Example.COM ", "ada.lovelace@example.com", true},
		{def, "ada+news@example.com", "ada+news@example.com", true},
		{plus, "ada+news@example.com", "ada@example.com", true},
		{def, "ada@localhost", "", false},
		{def, "not an address", "", false},
		{def, "a@b@example.com", "", false},
		{def, "@example.com", "", false},
		{def, "ada@example.com.", "", false},
		{nil, "Ada@Example.com", "ada@example.com", true},
	}
	for _, c := range emails {
		got, ok := c.n.Email(c.in)
		if got != c.want || ok != c.matches {
			t.Errorf("Email(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.matches)
		}
	}
	domains := []struct {
		n       *identity.Normalizer
		in      string
		want    string
		matches bool
	}{
		{def, "Example.COM", "example.com", true},
		{def, "https://www.example.com/about?x=1", "example.com", true},
		{def, "http://WWW.Example.co.uk:8080/", "example.co.uk", true},
		{def, "www.example.com/path", "example.com", true},
		{def, "example.com:443", "example.com", true},
		{def, "billing@Example.com", "example.com", true},
		{def, "jenny.rosen@gmail.com", "", false},
		{def, "https://mail.google.com", "mail.google.com", true},
		{def, "GMAIL.com.", "", false},
		{plus, "someone@gmail.com", "gmail.com", true},
		{plus, "someone@example.org", "", false},
		{def, "localhost", "", false},
		{def, "", "", false},
		{nil, "www.example.com", "example.com", true},
		// Webmail's country domains and internet providers' mail.
		{def, "ana@hotmail.it", "", false},
		{def, "bo@outlook.de", "", false},
		{def, "c@yahoo.co.jp", "", false},
		{def, "d@comcast.net", "", false},
		{def, "e@live.co.uk", "", false},
		{def, "f@btinternet.com", "", false},
		// A page on a shared host is no company's domain; the host's own
		// site and its staff's addresses are.
		{def, "https://www.facebook.com/acmebakery", "", false},
		{def, "https://www.linkedin.com/company/acme/", "", false},
		{def, "linkedin.com/company/acme", "", false},
		{def, "https://sites.google.com/view/acme", "", false},
		{def, "https://m.facebook.com/acmebakery", "", false},
		{nil, "https://github.com/acme", "", false},
		{def, "https://www.linkedin.com/", "linkedin.com", true},
		{def, "linkedin.com", "linkedin.com", true},
		{def, "recruiter@linkedin.com", "linkedin.com", true},
		{def, "https://acme.wixsite.com/shop", "acme.wixsite.com", true},
		{def, "https://example.com/facebook.com", "example.com", true},
		{plus, "https://pages.example.com/acme", "", false},
		{plus, "https://www.linkedin.com/company/acme", "linkedin.com", true},
	}
	for _, c := range domains {
		got, ok := c.n.Domain(c.in)
		if got != c.want || ok != c.matches {
			t.Errorf("Domain(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.matches)
		}
	}
}

func TestNewID(t *testing.T) {
	t.Parallel()
	a := identity.NewID("acme", "contact", identity.KindEmail, "ada@example.com")
	if a != identity.NewID("acme", "contact", identity.KindEmail, "ada@example.com") {
		t.Error("NewID is not deterministic")
	}
	others := []string{
		identity.NewID("globex", "contact", identity.KindEmail, "ada@example.com"),
		identity.NewID("acme", "account", identity.KindEmail, "ada@example.com"),
		identity.NewID("acme", "contact", identity.KindExternal, "ada@example.com"),
		identity.NewID("acme", "contact", identity.KindEmail, "ada@example.co"),
	}
	for _, o := range others {
		if o == a {
			t.Errorf("%s: two keys, one id", o)
		}
	}
	if !strings.HasPrefix(a, "con_") || len(a) != 30 || strings.ContainsAny(a, ". +/=") {
		t.Errorf("id %q is not con_ and 26 base32 characters", a)
	}
	if strings.Contains(a, "ada") {
		t.Errorf("id %q shows its key", a)
	}
}

func TestBindingRecordRoundTrip(t *testing.T) {
	t.Parallel()
	cases := []identity.Binding{
		{Tenant: "acme", Object: "contact", Kind: identity.KindExternal, System: "crm", Integration: "crm-eu", ExternalID: "51|odd id", ID: "con_x"},
		{Tenant: "acme", Object: "account", Kind: identity.KindDomain, Hash: strings.Repeat("ab", 32), ID: "acc_y"},
		{Tenant: "acme", Object: "contact", Kind: identity.KindEmail, Hash: strings.Repeat("cd", 32), ID: "con_z"},
	}
	for _, b := range cases {
		r := b.Record("sluice.identity")
		if r.Topic != "sluice.identity" || kafka.Header(r, kafka.HeaderTenantID) != b.Tenant || string(r.Key) != b.Key() {
			t.Errorf("record %s: topic %s, headers %v", r.Key, r.Topic, r.Headers)
		}
		got, deleted, err := identity.ParseBinding(r.Key, r.Value)
		if err != nil || deleted || got != b {
			t.Errorf("ParseBinding(%s) = %+v, %v, %v; want %+v", r.Key, got, deleted, err, b)
		}
		if _, deleted, err := identity.ParseBinding(r.Key, nil); err != nil || !deleted {
			t.Errorf("a tombstone of %s: deleted %v, %v", r.Key, deleted, err)
		}
	}
	for _, bad := range [][2]string{{"acme|contact", `{"id":"x"}`}, {"acme|contact|ext|crm", `{"id":"x"}`}, {"acme|contact|phone|1", `{"id":"x"}`}, {"acme|contact|email|h", `{}`}, {"acme|contact|email|h", `[`}} {
		if _, _, err := identity.ParseBinding([]byte(bad[0]), []byte(bad[1])); !errors.Is(err, identity.ErrRecord) {
			t.Errorf("ParseBinding(%s, %s) = %v, want ErrRecord", bad[0], bad[1], err)
		}
	}
}

// env is one test's identity map on its own topic and Redis prefix.
type env struct {
	k     *testkit.Kafka
	r     *testkit.Redis
	topic string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return &env{k: testkit.NewKafka(t), r: testkit.NewRedis(t), topic: testkit.Name(t, "identity")}
}

func (e *env) open(t *testing.T, opts ...identity.Opt) *identity.Map {
	t.Helper()
	m, err := identity.New(e.r.Client, stagetest.Config(e.k), append([]identity.Opt{
		identity.Topic(e.topic), identity.Prefix(e.r.Prefix), identity.TopicPartitions(3), identity.Tenants("acme"),
		identity.Logger(testkit.Logger(t)), identity.LoadTimeout(time.Minute),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Load(testkit.Context(t, time.Minute)); err != nil {
		t.Fatal(err)
	}
	if !m.Ready() {
		t.Fatal("not ready after Load")
	}
	return m
}

// commit does what the transform stage does with a resolution: write the
// pending bindings to the identity topic in a transaction, then confirm
// them.
func (e *env) commit(t *testing.T, m *identity.Map, res ...identity.Resolution) {
	t.Helper()
	var recs []*kgo.Record
	var bs []identity.Binding
	for _, r := range res {
		for _, b := range r.Pending {
			recs = append(recs, b.Record(e.topic))
			bs = append(bs, b)
		}
	}
	if len(recs) == 0 {
		return
	}
	cl := e.k.Client(t, kgo.TransactionalID(testkit.Name(t, "txn")))
	ctx := testkit.Context(t, time.Minute)
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Confirm(ctx, bs); err != nil {
		t.Fatal(err)
	}
}

func resolve(t *testing.T, m *identity.Map, subjects ...identity.Subject) []identity.Resolution {
	t.Helper()
	res, err := m.Resolve(testkit.Context(t, time.Minute), subjects)
	if err != nil {
		t.Fatal(err)
	}
	if res.RoundTrips > 2 && !res.Rebuilt {
		t.Errorf("%d round trips for %d subjects, want at most 2 (read the keys, then resolve)", res.RoundTrips, len(subjects))
	}
	return res.Resolutions
}

func contact(system, id, email string) identity.Subject {
	return identity.Subject{Tenant: "acme", Object: "contact", System: system, Integration: system, ExternalID: id, Email: email}
}

func ext(rs identity.Resolution) string {
	var out []string
	for _, e := range rs.ExternalIDs {
		out = append(out, e.System+":"+e.ID)
	}
	return strings.Join(out, ",")
}

func TestResolveStitchesAndKeepsEveryExternalID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.open(t)

	// A new contact gets the id of its e-mail, and both its keys are
	// pending until committed.
	first := resolve(t, m, contact("crm", "51", "Ada@Example.com"))[0]
	want := identity.NewID("acme", "contact", identity.KindEmail, "ada@example.com")
	if first.ID != want || first.Outcome != identity.Minted || len(first.Pending) != 2 {
		t.Fatalf("first sighting: %+v; want id %s, minted, 2 pending", first, want)
	}
	// Seen again before the commit: known, and still pending (its
	// transaction may abort), so this batch writes them too.
	again := resolve(t, m, contact("crm", "51", "ada@example.com"))[0]
	if again.ID != want || again.Outcome != identity.Known || len(again.Pending) != 2 {
		t.Fatalf("before the commit: %+v", again)
	}
	e.commit(t, m, again)
	after := resolve(t, m, contact("crm", "51", "ada@example.com"))[0]
	if after.Outcome != identity.Known || len(after.Pending) != 0 {
		t.Fatalf("after the commit: %+v; want known and nothing pending", after)
	}

	// The same person from another system: matched, one id, both ids.
	rs := resolve(t, m,
		contact("commerce", "115310627314723954", " ADA@example.com"),
		contact("support", "8447", "grace@example.com"),
		contact("crm", "99", ""),
	)
	if rs[0].ID != want || rs[0].Outcome != identity.Matched || ext(rs[0]) != "commerce:115310627314723954,crm:51" {
		t.Errorf("other system: %+v (%s)", rs[0], ext(rs[0]))
	}
	if rs[1].ID == want || rs[1].Outcome != identity.Minted {
		t.Errorf("another person: %+v", rs[1])
	}
	if rs[2].ID != identity.NewID("acme", "contact", identity.KindExternal, "crm\x0099") || len(rs[2].Pending) != 1 {
		t.Errorf("no e-mail: id from the external id, one pending binding: %+v", rs[2])
	}
	// Another tenant with the same e-mail is another person. A tenant
	// first met is marked loaded, without a rebuild.
	res, err := m.Resolve(testkit.Context(t, time.Minute), []identity.Subject{{Tenant: "globex", Object: "contact", System: "crm", ExternalID: "51", Email: "ada@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Resolutions[0].ID == want {
		t.Error("two tenants share a canonical id")
	}
	if res.Rebuilt || res.RoundTrips != 5 || m.Stats().Rebuilds != 1 {
		t.Errorf("a new tenant: rebuilt %v, %d round trips, %d rebuilds; want a marker set in 5 trips (read, marker check, marker, read, resolve) and no rebuild", res.Rebuilt, res.RoundTrips, m.Stats().Rebuilds)
	}
}

func TestResolveAccountsByDomain(t *testing.T) {
	t.Parallel()
	m := newEnv(t).open(t)
	account := func(system, id string, domains ...string) identity.Subject {
		return identity.Subject{Tenant: "acme", Object: "account", System: system, ExternalID: id, Domains: domains}
	}
	rs := resolve(t, m,
		account("crm", "3001", "", "https://www.Analytical-Engines.example/"),
		account("payments", "cus_1", "billing@analytical-engines.example"),
		account("payments", "cus_2", "jenny@gmail.com"),
		account("payments", "cus_3", "jenny@gmail.com"),
	)
	if rs[0].ID != rs[1].ID || rs[1].Outcome != identity.Matched {
		t.Errorf("CRM company and payments customer of one domain: %s, %s (%v)", rs[0].ID, rs[1].ID, rs[1].Outcome)
	}
	if rs[2].ID == rs[3].ID || rs[2].Outcome != identity.Minted || rs[3].Outcome != identity.Minted {
		t.Errorf("two free-mail customers were joined: %+v, %+v", rs[2], rs[3])
	}
	ref := resolve(t, m, identity.Subject{Tenant: "acme", Object: "account", System: "payments", ExternalID: "cus_1", Ref: true})[0]
	if ref.ID != rs[1].ID || ref.ExternalIDs != nil {
		t.Errorf("a reference: %+v; want the id and no external ids", ref)
	}
}

func TestResolveReportsConflictsAndKeepsTheExternalID(t *testing.T) {
	t.Parallel()
	m := newEnv(t).open(t)
	// Known by its CRM id without an e-mail; another system brings the
	// e-mail in first; then the CRM contact gains it.
	a := resolve(t, m, contact("crm", "60", ""))[0]
	b := resolve(t, m, contact("payments", "cus_9", "charles@example.com"))[0]
	c := resolve(t, m, contact("crm", "60", "charles@example.com"))[0]
	if c.ID != a.ID || !c.Conflict || c.Outcome != identity.Known {
		t.Errorf("conflict: %+v; want the CRM id %s kept and a conflict", c, a.ID)
	}
	d := resolve(t, m, contact("commerce", "77", "charles@example.com"))[0]
	if d.ID != b.ID {
		t.Errorf("the e-mail stays with %s, got %s", b.ID, d.ID)
	}
	if s := m.Stats(); s.Conflicts != 1 || s.Minted != 2 || s.Known != 1 || s.Matched != 1 {
		t.Errorf("stats %+v", s)
	}
}

// TestConcurrentSightingsAgree resolves one new customer from many
// systems at once, as members handling different partitions do: every
// one gets the same id.
func TestConcurrentSightingsAgree(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	maps := []*identity.Map{e.open(t), e.open(t)}
	const n = 40
	ids := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := maps[i%2].Resolve(context.Background(), []identity.Subject{contact(fmt.Sprintf("system%d", i), "x", "Same.Person@example.com")})
			if err != nil {
				errs <- err
				return
			}
			ids[i] = res.Resolutions[0].ID
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i, id := range ids {
		if id != ids[0] {
			t.Fatalf("sighting %d got %s, sighting 0 %s", i, id, ids[0])
		}
	}
	all := resolve(t, maps[0], contact("system0", "x", ""))[0]
	if len(all.ExternalIDs) != n {
		t.Errorf("%d external ids kept, want %d", len(all.ExternalIDs), n)
	}
}

// TestFlushRebuildsFromTheTopic loses Redis between two resolutions: the
// next one rebuilds the map from the identity topic before it answers,
// and answers the ids that were committed.
func TestFlushRebuildsFromTheTopic(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.open(t)
	before := resolve(t, m, contact("crm", "51", "ada@example.com"), contact("crm", "60", ""))
	e.commit(t, m, before...)
	// A binding that never committed (its transaction aborted) is not in
	// the topic.
	stray := resolve(t, m, contact("crm", "70", "lost@example.com"))[0]

	e.r.Flush(t)
	res, err := m.Resolve(testkit.Context(t, time.Minute), []identity.Subject{
		contact("commerce", "1", "ADA@example.com"),
		contact("crm", "60", "charles@example.com"),
		contact("crm", "70", ""),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Rebuilt {
		t.Error("Resolve did not report the rebuild")
	}
	got := res.Resolutions
	if got[0].ID != before[0].ID || got[0].Outcome != identity.Matched {
		t.Errorf("committed e-mail binding lost: %+v, want matched %s", got[0], before[0].ID)
	}
	if got[1].ID != before[1].ID || got[1].Outcome != identity.Known {
		t.Errorf("committed external id lost: %+v, want known %s", got[1], before[1].ID)
	}
	if got[2].Outcome != identity.Minted || got[2].ID == stray.ID {
		t.Errorf("an uncommitted binding survived the flush: %+v", got[2])
	}
	if s := m.Stats(); s.Rebuilds != 2 || s.Loaded != 3 {
		t.Errorf("stats %+v; want 2 rebuilds (start, flush), 3 records", s)
	}
	// A second instance finds the map in Redis and does not rebuild.
	if s := e.open(t).Stats(); s.Rebuilds != 0 {
		t.Errorf("a second instance rebuilt the map: %+v", s)
	}
}

// TestConfirmWritesBackAfterAFlush: a transaction in flight across a
// flush commits its bindings; Confirm puts them back in Redis.
// TestRebuildDoesNotWaitForOpenTransactions flushes the map while a
// transaction that wrote a binding is still open, as the transform's own
// can be when one of its batches needs a rebuild: the rebuild reads what
// committed and does not wait for that transaction to end.
func TestRebuildDoesNotWaitForOpenTransactions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.open(t)
	before := resolve(t, m, contact("crm", "51", "ada@example.com"))
	e.commit(t, m, before...)
	open := resolve(t, m, contact("crm", "80", "open@example.com"))[0]
	cl := e.k.Client(t, kgo.TransactionalID(testkit.Name(t, "txn")), kgo.TransactionTimeout(time.Minute))
	ctx := testkit.Context(t, time.Minute)
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for _, b := range open.Pending {
		if err := cl.ProduceSync(ctx, b.Record(e.topic)).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = cl.EndTransaction(context.Background(), kgo.TryAbort) })

	e.r.Flush(t)
	quick := testkit.Context(t, 15*time.Second) // the open transaction's timeout is a minute
	res, err := m.Resolve(quick, []identity.Subject{contact("commerce", "1", "ADA@example.com")})
	if err != nil {
		t.Fatalf("Resolve during an open transaction: %v", err)
	}
	if !res.Rebuilt || res.Resolutions[0].ID != before[0].ID {
		t.Errorf("resolution %+v (rebuilt %v), want the committed binding's id %s after a rebuild", res.Resolutions[0], res.Rebuilt, before[0].ID)
	}
}

func TestConfirmWritesBackAfterAFlush(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.open(t)
	inFlight := resolve(t, m, contact("crm", "80", ""))[0]
	e.r.Flush(t)
	if err := m.Rebuild(testkit.Context(t, time.Minute)); err != nil {
		t.Fatal(err)
	}
	e.commit(t, m, inFlight)
	// The binding's external id is back in its id's list too, before any
	// resolve could add it.
	list := e.r.Client.Get(testkit.Context(t, time.Minute), e.r.Prefix+"identity:{acme}:extids:"+inFlight.ID).Val()
	if want := "10:crm|crm|80,"; list != want {
		t.Errorf("id list after the commit = %q, want %q", list, want)
	}
	again := resolve(t, m, contact("crm", "80", ""))[0]
	if again.ID != inFlight.ID || again.Outcome != identity.Known || len(again.Pending) != 0 {
		t.Errorf("%+v; want the committed binding back, durable", again)
	}
}

func TestTombstoneRemovesABinding(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.open(t)
	r := resolve(t, m, contact("crm", "90", ""))[0]
	e.commit(t, m, r)
	tomb := r.Pending[0].Record(e.topic)
	tomb.Value = nil
	stagetest.Produce(t, e.k, e.topic, tomb)
	e.r.Flush(t)
	if err := m.Rebuild(testkit.Context(t, time.Minute)); err != nil {
		t.Fatal(err)
	}
	after := resolve(t, m, contact("crm", "90", ""))[0]
	if after.Outcome != identity.Minted {
		t.Errorf("an erased binding came back: %+v", after)
	}
}

func TestResolveFailsClosedWithoutRedis(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.open(t)
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { _ = dead.Close() })
	down, err := identity.New(dead, stagetest.Config(e.k), identity.Topic(e.topic), identity.Prefix(e.r.Prefix))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := down.Resolve(testkit.Context(t, time.Minute), []identity.Subject{contact("crm", "1", "")}); !errors.Is(err, identity.ErrUnavailable) {
		t.Errorf("Resolve without Redis = %v, want ErrUnavailable", err)
	}
	if err := down.Load(testkit.Context(t, time.Minute)); !errors.Is(err, identity.ErrUnavailable) {
		t.Errorf("Load without Redis = %v, want ErrUnavailable", err)
	}
	_ = m
}

func TestResolveRefusesSubjectsItCannotKey(t *testing.T) {
	t.Parallel()
	m := newEnv(t).open(t)
	for _, s := range []identity.Subject{
		{Object: "contact", System: "crm", ExternalID: "1"},
		{Tenant: "acme", Object: "contact", System: "crm"},
		{Tenant: "acme", Object: "contact", System: "c|rm", ExternalID: "1"},
		{Tenant: "ac{me}", Object: "contact", System: "crm", ExternalID: "1"},
		{Tenant: "acme", Object: "con}tact", System: "crm", ExternalID: "1"},
		{Tenant: "acme", Object: "contact", System: "crm", Integration: "crm|main", ExternalID: "1"},
	} {
		if _, err := m.Resolve(context.Background(), []identity.Subject{s}); !errors.Is(err, identity.ErrSubject) {
			t.Errorf("Resolve(%+v) = %v, want ErrSubject", s, err)
		}
	}
}

// A subject whose keys are all durable is read without the script: two
// round trips (its keys, then its id's list), one for a reference, which
// needs no list. If its id's list is gone between the two, the script
// resolves it in a third.
func TestDurableSubjectsAreRead(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.open(t, identity.CacheSize(0)) // every resolve reads Redis
	ctx := testkit.Context(t, time.Minute)
	ada, billing := contact("crm", "51", "ada@example.com"), contact("payments", "cus_9", "ada@example.com")
	e.commit(t, m, resolve(t, m, ada)...)
	e.commit(t, m, resolve(t, m, billing)...)
	id := identity.NewID("acme", "contact", identity.KindEmail, "ada@example.com")
	before := m.Stats()

	res, err := m.Resolve(ctx, []identity.Subject{ada, billing})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res.Resolutions {
		if r.ID != id || r.Outcome != identity.Known || r.Conflict || len(r.Pending) != 0 || ext(r) != "crm:51,payments:cus_9" {
			t.Errorf("subject %d: %+v; want %s known, nothing pending, both external ids", i, r, id)
		}
	}
	if res.RoundTrips != 2 {
		t.Errorf("%d round trips, want 2", res.RoundTrips)
	}
	if got := m.Stats().Known - before.Known; got != 2 {
		t.Errorf("%d counted known, want 2", got)
	}

	ref := ada
	ref.Ref = true
	res, err = m.Resolve(ctx, []identity.Subject{ref})
	if err != nil {
		t.Fatal(err)
	}
	if r := res.Resolutions[0]; r.ID != id || r.ExternalIDs != nil || res.RoundTrips != 1 {
		t.Errorf("a reference: %+v in %d round trips; want %s, no external ids, 1 round trip", r, res.RoundTrips, id)
	}

	// The id's list vanishes (as in a flush that left the bindings): the
	// script answers instead, with what Redis holds.
	keys := e.r.Keys(t, e.r.Prefix+"*:extids:"+id)
	if len(keys) != 1 {
		t.Fatalf("the id's list: %v", keys)
	}
	if err := e.r.Client.Del(ctx, keys[0]).Err(); err != nil {
		t.Fatal(err)
	}
	res, err = m.Resolve(ctx, []identity.Subject{ada})
	if err != nil {
		t.Fatal(err)
	}
	if r := res.Resolutions[0]; r.ID != id || r.Outcome != identity.Known || res.RoundTrips != 3 {
		t.Errorf("without its list: %+v in %d round trips; want %s known, in 3", r, res.RoundTrips, id)
	}

	// The list lacks a durable external id (a writer of the format before
	// id lists bound it): the script adds it, once.
	res, err = m.Resolve(ctx, []identity.Subject{billing})
	if err != nil {
		t.Fatal(err)
	}
	if r := res.Resolutions[0]; r.ID != id || r.Outcome != identity.Known || res.RoundTrips != 3 || ext(r) != "crm:51,payments:cus_9" {
		t.Errorf("missing from its list: %+v in %d round trips; want %s known with both external ids, in 3", r, res.RoundTrips, id)
	}
	if got, want := e.r.Client.Get(ctx, keys[0]).Val(), "10:crm|crm|51,23:payments|payments|cus_9,"; got != want {
		t.Errorf("the id's list: %q, want %q", got, want)
	}
	res, err = m.Resolve(ctx, []identity.Subject{ada, billing})
	if err != nil {
		t.Fatal(err)
	}
	if res.RoundTrips != 2 {
		t.Errorf("%d round trips once the list is whole, want 2", res.RoundTrips)
	}
}

// TestCachedBindings: the bindings a map confirmed, or read durable, are
// remembered, so resolving those objects again reads only their id lists
// (a reference, nothing); a binding Confirm finds bound to another id is
// not remembered; a map that finds Redis flushed forgets them all.
func TestCachedBindings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	reg := prometheus.NewRegistry()
	m := e.open(t, identity.Registerer(reg))
	ctx := testkit.Context(t, time.Minute)
	ada := contact("crm", "51", "ada@example.com")
	e.commit(t, m, resolve(t, m, ada)...)
	id := identity.NewID("acme", "contact", identity.KindEmail, "ada@example.com")
	// again resolves s and checks its id, outcome, external ids and round
	// trips, and that a hit was counted when trips say it came from memory.
	again := func(m *identity.Map, s identity.Subject, wantID, wantExt string, trips int) {
		t.Helper()
		hits := m.Stats().CacheHits
		res, err := m.Resolve(ctx, []identity.Subject{s})
		if err != nil {
			t.Fatal(err)
		}
		r := res.Resolutions[0]
		if r.ID != wantID || r.Outcome != identity.Known || len(r.Pending) != 0 || ext(r) != wantExt || res.RoundTrips != trips {
			t.Errorf("%s: %+v in %d round trips; want %s known, nothing pending, external ids %q, in %d", s.ExternalID, r, res.RoundTrips, wantID, wantExt, trips)
		}
		if fromMemory, got := trips < 2, m.Stats().CacheHits-hits; fromMemory != (got == 1) {
			t.Errorf("%s: %d cache hits counted, resolved from memory: %v", s.ExternalID, got, fromMemory)
		}
	}
	again(m, ada, id, "crm:51", 1) // the id's list only
	ref := ada
	ref.Ref = true
	again(m, ref, id, "", 0)

	// Another map reads the durable bindings once, then remembers them.
	other := e.open(t)
	again(other, ada, id, "crm:51", 2)
	again(other, ada, id, "crm:51", 1)

	// The bindings are gone from Redis, but not from the topic (a lost
	// write the map has not noticed): memory still answers, rightly.
	for _, k := range e.r.Keys(t, e.r.Prefix+"identity:{acme}:contact:e*") {
		if err := e.r.Client.Del(ctx, k).Err(); err != nil {
			t.Fatal(err)
		}
	}
	again(m, ada, id, "crm:51", 1)

	// A new tenant (its marker missing, as after a flush) drops nothing.
	if _, err := m.Resolve(ctx, []identity.Subject{{Tenant: "initech", Object: "contact", System: "crm", ExternalID: "1"}}); err != nil {
		t.Fatal(err)
	}
	again(m, ada, id, "crm:51", 1)

	// A binding confirmed after Redis bound its key to another id (a
	// flush since it was resolved, and another instance bound it first)
	// is not remembered: the map reads what Redis holds.
	bob := contact("crm", "52", "")
	pending := resolve(t, m, bob)
	key := e.r.Keys(t, e.r.Prefix+"identity:{acme}:contact:ext:crm:52")
	if len(key) != 1 {
		t.Fatalf("bob's binding: %v", key)
	}
	if err := e.r.Client.Set(ctx, key[0], "d:con_other", 0).Err(); err != nil {
		t.Fatal(err)
	}
	e.commit(t, m, pending...)
	res, err := m.Resolve(ctx, []identity.Subject{bob})
	if err != nil {
		t.Fatal(err)
	}
	if r := res.Resolutions[0]; r.ID != "con_other" || res.RoundTrips < 2 {
		t.Errorf("bob: %s in %d round trips; want con_other, read from Redis", r.ID, res.RoundTrips)
	}

	// Once the map finds Redis flushed it rebuilds, and forgets what it
	// remembered: carol is read from Redis again.
	carol := contact("desk", "c-3", "carol@example.com")
	e.commit(t, m, resolve(t, m, carol)...)
	carolID := identity.NewID("acme", "contact", identity.KindEmail, "carol@example.com")
	again(m, carol, carolID, "desk:c-3", 1)
	e.r.Flush(t)
	res, err = m.Resolve(ctx, []identity.Subject{ada})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Rebuilt || res.Resolutions[0].ID != id {
		t.Errorf("after a flush: %+v, rebuilt %v; want %s after a rebuild", res.Resolutions[0], res.Rebuilt, id)
	}
	again(m, carol, carolID, "desk:c-3", 2)
	again(m, carol, carolID, "desk:c-3", 1)
	if got, want := testkit.Metric(t, reg, "sluice_identity_cache_hits_total", nil), float64(m.Stats().CacheHits); got != want || want == 0 {
		t.Errorf("sluice_identity_cache_hits_total %v, want the %v hits counted", got, want)
	}

	if _, err := identity.New(e.r.Client, stagetest.Config(e.k), identity.CacheSize(-1)); !errors.Is(err, identity.ErrConfig) {
		t.Errorf("a negative cache size: %v, want ErrConfig", err)
	}
}

// Resolve and Confirm are timed, one sample per call.
func TestCallsAreTimed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	reg := prometheus.NewRegistry()
	m := e.open(t, identity.Registerer(reg))
	first := resolve(t, m, contact("crm", "7", "lin@example.com"))
	e.commit(t, m, first...)
	resolve(t, m, contact("crm", "7", "lin@example.com"), contact("crm", "8", ""))
	for op, want := range map[string]float64{"resolve": 2, "confirm": 1} {
		if got := testkit.Metric(t, reg, "sluice_identity_seconds", map[string]string{"op": op}); got != want {
			t.Errorf("sluice_identity_seconds{op=%q}: %v samples, want %v", op, got, want)
		}
	}
}

// An external id may hold any byte, the separators of an id list's
// members and netstrings ('|', ':', ',') and digits included: it comes
// back whole, new (the script's list) or known (read by Resolve), and
// beside another member of its id.
func TestExternalIDsMayHoldAnyByte(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.open(t)
	for n, id := range []string{"51|odd|id", "12:ab,", "3:x,4:yy,", ",", ":", "line\nbreak", "\xff\xfe\x00", "ünï"} {
		email := fmt.Sprintf("odd%d@example.com", n)
		odd, plain := contact("crm", id, email), contact("shop", "p"+strconv.Itoa(n), email)
		want := "crm:" + id + ",shop:p" + strconv.Itoa(n)
		first := resolve(t, m, odd, plain)
		if got := ext(first[1]); got != want {
			t.Fatalf("new: external ids %q, want %q", got, want)
		}
		e.commit(t, m, first...)
		for _, r := range resolve(t, m, odd, plain) {
			if r.Outcome != identity.Known || ext(r) != want {
				t.Fatalf("known: %+v, external ids %q; want known with %q", r, ext(r), want)
			}
		}
	}
}

// A map that Redis holds in the format before id lists (sets, and loaded
// markers without a version) is not taken for loaded: the first start
// rebuilds it from the topic, and the id lists are there.
func TestMapOfTheFormatBeforeIsRebuilt(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := testkit.Context(t, time.Minute)
	m := e.open(t)
	e.commit(t, m, resolve(t, m, contact("crm", "51", "ada@example.com"), contact("payments", "cus_9", "ada@example.com"))...)
	e.r.Flush(t)
	id := identity.NewID("acme", "contact", identity.KindEmail, "ada@example.com")
	old := e.r.Client.Pipeline()
	old.Set(ctx, e.r.Prefix+"identity:loaded", "1", 0)
	old.Set(ctx, e.r.Prefix+"identity:{acme}:loaded", "1", 0)
	old.Set(ctx, e.r.Prefix+"identity:{acme}:contact:ext:crm:51", "d:"+id, 0)
	old.SAdd(ctx, e.r.Prefix+"identity:{acme}:ids:"+id, "crm|crm|51")
	if _, err := old.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	next := e.open(t)
	if s := next.Stats(); s.Rebuilds != 1 || s.Loaded != 4 {
		t.Errorf("stats %+v; want a rebuild of 4 records", s)
	}
	for _, r := range resolve(t, next, contact("crm", "51", "ada@example.com"), contact("payments", "cus_9", "")) {
		if r.ID != id || r.Outcome != identity.Known || len(r.Pending) != 0 || ext(r) != "crm:51,payments:cus_9" {
			t.Errorf("%+v; want %s known, durable, both external ids", r, id)
		}
	}
}

// Every transaction that relies on a pending binding writes it, so the
// topic may hold a binding many times: a rebuild adds its member to the
// id's list once.
func TestRebuildAddsEachMemberOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := testkit.Context(t, time.Minute)
	m := e.open(t)
	res := resolve(t, m, contact("crm", "51", "ada@example.com"), contact("payments", "cus_9", "ada@example.com"))
	e.commit(t, m, res...)
	e.commit(t, m, res...)
	e.r.Flush(t)
	if err := m.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	// The topic's partitions are read in no set order.
	key := e.r.Prefix + "identity:{acme}:extids:" + res[0].ID
	crm, payments := "10:crm|crm|51,", "23:payments|payments|cus_9,"
	if got := e.r.Client.Get(ctx, key).Val(); got != crm+payments && got != payments+crm {
		t.Errorf("the id's list after the rebuild: %q, want %q and %q once each", got, crm, payments)
	}
}

// An id list that is not netstrings is an error naming its key, whether
// Resolve reads it or the script does; nothing is resolved from it.
func TestMalformedIDListIsAnError(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := testkit.Context(t, time.Minute)
	m := e.open(t)
	ada := contact("crm", "51", "ada@example.com")
	res := resolve(t, m, ada)
	e.commit(t, m, res...)
	key := e.r.Prefix + "identity:{acme}:extids:" + res[0].ID
	if err := e.r.Client.Set(ctx, key, "9:crm|crm|51,", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// Durable: Resolve reads it.
	if _, err := m.Resolve(ctx, []identity.Subject{ada}); err == nil || !strings.Contains(err.Error(), "identity:{acme}:extids:"+res[0].ID+": id list is not netstrings") {
		t.Errorf("Resolve read a malformed list: %v", err)
	}
	// A new external id of the same contact: the script reads it.
	if _, err := m.Resolve(ctx, []identity.Subject{contact("payments", "cus_9", "ada@example.com")}); err == nil || !strings.Contains(err.Error(), "identity:{acme}:extids:"+res[0].ID+" is not netstrings") {
		t.Errorf("the script read a malformed list: %v", err)
	}
}
