package avro

import (
	"time"

	"github.com/sluicehq/sluice/internal/canonical"
)

func ptr[T any](v T) *T { return &v }

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func fixtureEnvelope(eventType, source string) canonical.Envelope {
	return canonical.Envelope{
		TenantID:      "demo",
		EventID:       "9f2c1e64b7a04c1d8e3f5a6b7c8d9e0f",
		EventType:     eventType,
		Integration:   source,
		Source:        source,
		OccurredAt:    ptr(at("2026-03-02T09:14:07.123Z")),
		ReceivedAt:    at("2026-03-02T09:14:07.456Z"),
		SchemaVersion: ptr("2024-06-20"),
		TraceParent:   ptr("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
		ActorID:       ptr("910"),
		CausedBy:      ptr("evt_1NG8Du2eZvKYlo2CUI79vXWy"),
	}
}

var fixtureAddress = canonical.Address{
	Line1:       ptr("Unter den Linden 1"),
	City:        ptr("Berlin"),
	PostalCode:  ptr("10117"),
	CountryCode: ptr("DE"),
}

func fixtureAccountEvent() canonical.AccountEvent {
	return canonical.AccountEvent{
		Envelope: fixtureEnvelope("account.updated", "crm"),
		Data: canonical.Account{
			TenantID: "demo",
			ID:       "acc_01HQZ8W4K3M5N6P7Q8R9S0T1U2",
			ExternalIDs: []canonical.ExternalID{
				{System: "crm", ID: "3001", URL: ptr("https://crm.example/companies/3001")},
				{System: "payments", ID: "cus_NffrFeUfNV2Hib", Integration: ptr("payments-eu")},
			},
			Name:            "Analytical Engines Ltd",
			Domain:          ptr("analytical-engines.example"),
			Website:         ptr("https://analytical-engines.example"),
			Industry:        ptr("COMPUTER_SOFTWARE"),
			EmployeeCount:   ptr(int32(250)),
			AnnualRevenue:   &canonical.Money{AmountMinor: 125000050, Currency: "GBP"},
			BillingAddress:  ptr(fixtureAddress),
			Status:          canonical.AccountStatusCustomer,
			OwnerID:         ptr("910"),
			CreatedAt:       ptr(at("2025-01-01T00:00:00Z")),
			UpdatedAt:       at("2026-03-01T12:00:00Z"),
			Attributes:      map[string]string{"crm.hs_analytics_source": "ORGANIC_SEARCH"},
			ShippingAddress: nil,
		},
	}
}

func fixtureContactEvent() canonical.ContactEvent {
	return canonical.ContactEvent{
		Envelope: fixtureEnvelope("contact.updated", "crm"),
		Data: canonical.Contact{
			TenantID:       "demo",
			ID:             "con_01HQZ8W4K3M5N6P7Q8R9S0T1U3",
			ExternalIDs:    []canonical.ExternalID{{System: "crm", ID: "51"}},
			AccountID:      ptr("acc_01HQZ8W4K3M5N6P7Q8R9S0T1U2"),
			Email:          ptr("ada@example.com"),
			FirstName:      ptr("Ada"),
			LastName:       ptr("Lovelace"),
			Phone:          ptr("+442079460958"),
			Title:          ptr("Analyst"),
			Address:        &canonical.Address{City: ptr("London"), CountryCode: ptr("GB")},
			LifecycleStage: canonical.LifecycleCustomer,
			MarketingOptIn: ptr(true),
			CreatedAt:      ptr(at("2025-11-20T16:02:11Z")),
			UpdatedAt:      at("2026-03-02T09:14:07Z"),
			Attributes:     map[string]string{},
		},
	}
}

func fixtureOrderEvent() canonical.OrderEvent {
	usd := func(minor int64) canonical.Money { return canonical.Money{AmountMinor: minor, Currency: "USD"} }
	return canonical.OrderEvent{
		Envelope: fixtureEnvelope("order.created", "commerce"),
		Data: canonical.Order{
			TenantID: "demo",
			ID:       "ord_01HQZ8W4K3M5N6P7Q8R9S0T1U4",
			ExternalIDs: []canonical.ExternalID{
				{System: "commerce", ID: "820982911946154508", URL: ptr("https://shop.example/admin/orders/820982911946154508")},
				{System: "payments", ID: "in_1MtHbELkdIwHu7ixl4OzzPMv"},
			},
			Number:        ptr("#1001"),
			AccountID:     ptr("acc_01HQZ8W4K3M5N6P7Q8R9S0T1U2"),
			ContactID:     ptr("con_01HQZ8W4K3M5N6P7Q8R9S0T1U3"),
			Status:        canonical.OrderStatusConfirmed,
			PaymentStatus: canonical.PaymentStatusPaid,
			Currency:      "USD",
			Lines: []canonical.OrderLine{
				{LineID: ptr("866550311766439020"), SKU: ptr("IPOD2008GREEN"), ProductID: ptr("632910392"), Name: "IPod Nano - 8GB - green", Quantity: 1, UnitPrice: usd(19900), Total: usd(18900)},
				{LineID: ptr("141249953214522974"), Name: "Cable", Quantity: 2, UnitPrice: usd(999), Total: usd(1998)},
				{LineID: ptr("141249953214522975"), SKU: ptr("CASE-BLK"), ProductID: ptr("632910393"), Name: "Case - black", Quantity: 1, UnitPrice: usd(2500), Total: usd(2500)},
			},
			Subtotal:        usd(23398),
			Discount:        ptr(usd(1000)),
			Tax:             ptr(usd(2457)),
			Shipping:        ptr(usd(1000)),
			Total:           usd(26855),
			BillingAddress:  &canonical.Address{Line1: ptr("123 Elm St."), City: ptr("Ottawa"), Region: ptr("ON"), PostalCode: ptr("K2P 1L4"), CountryCode: ptr("CA")},
			ShippingAddress: &canonical.Address{Line1: ptr("123 Elm St."), Line2: ptr("Apt 4"), City: ptr("Ottawa"), Region: ptr("ON"), PostalCode: ptr("K2P 1L4"), CountryCode: ptr("CA")},
			PlacedAt:        ptr(at("2026-03-02T15:15:00Z")),
			CreatedAt:       ptr(at("2026-03-02T15:15:00Z")),
			UpdatedAt:       at("2026-03-02T15:15:01Z"),
			Attributes:      map[string]string{"commerce.source_name": "web", "commerce.tags": "vip, newsletter"},
		},
	}
}

func fixtureTicketEvent() canonical.TicketEvent {
	return canonical.TicketEvent{
		Envelope: fixtureEnvelope("ticket.updated", "support"),
		Data: canonical.Ticket{
			TenantID:    "demo",
			ID:          "tkt_01HQZ8W4K3M5N6P7Q8R9S0T1U5",
			ExternalIDs: []canonical.ExternalID{{System: "support", ID: "35"}},
			Subject:     "Help, my printer is on fire!",
			Description: ptr("My printer is on fire!"),
			Status:      canonical.TicketStatusOpen,
			Priority:    canonical.TicketPriorityHigh,
			TicketType:  canonical.TicketTypeIncident,
			Channel:     ptr("web"),
			RequesterID: ptr("con_01HQZ8W4K3M5N6P7Q8R9S0T1U3"),
			AccountID:   ptr("acc_01HQZ8W4K3M5N6P7Q8R9S0T1U2"),
			AssigneeID:  ptr("8447388090494"),
			Tags:        []string{"printer", "fire"},
			CreatedAt:   ptr(at("2026-03-02T08:00:00Z")),
			UpdatedAt:   at("2026-03-02T08:05:00Z"),
			Attributes:  map[string]string{},
		},
	}
}

// canonicalFixture is one canonical event fixture, with a fresh value to
// decode into.
type canonicalFixture struct {
	record string
	value  any
	empty  func() any
}

func canonicalFixtures() []canonicalFixture {
	return []canonicalFixture{
		{canonical.RecordAccountEvent, fixtureAccountEvent(), func() any { return new(canonical.AccountEvent) }},
		{canonical.RecordContactEvent, fixtureContactEvent(), func() any { return new(canonical.ContactEvent) }},
		{canonical.RecordOrderEvent, fixtureOrderEvent(), func() any { return new(canonical.OrderEvent) }},
		{canonical.RecordTicketEvent, fixtureTicketEvent(), func() any { return new(canonical.TicketEvent) }},
	}
}
