package identity

import (
	"net/url"
	"slices"
	"strings"
)

// DefaultFreeMail returns the mailbox providers whose domain says
// nothing about the company a person works for (gmail.com, outlook.com,
// ...): an address there never gives an account a domain to match on.
func DefaultFreeMail() []string {
	return []string{
		"gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de", "ymail.com",
		"hotmail.com", "hotmail.co.uk", "hotmail.fr", "hotmail.de", "outlook.com", "live.com", "msn.com",
		"icloud.com", "me.com", "mac.com", "aol.com", "proton.me", "protonmail.com", "pm.me",
		"gmx.de", "gmx.net", "gmx.com", "web.de", "t-online.de", "mail.com", "email.com",
		"yandex.ru", "yandex.com", "mail.ru", "qq.com", "163.com", "126.com", "naver.com",
		"zoho.com", "fastmail.com", "hey.com", "tutanota.com", "orange.fr", "free.fr", "libero.it",
	}
}

// Normalizer turns raw e-mail addresses and domains into match keys. The
// zero value applies the default rules. It is safe for concurrent use.
//
// E-mail: trimmed and lower-cased, and it must look like an address
// (one '@', a local part, a domain with a dot). Sub-addresses
// ("ada+news@example.com") and dots in the local part are kept as they
// are by default: they are different mailboxes at most providers, and
// joining two people is worse than missing a match. StripPlusTags
// removes "+tag" when a tenant's sources are known to add them.
//
// Domain: from a bare domain ("Example.COM"), a URL
// ("https://www.example.com/about") or an e-mail address
// ("ada@example.com"): lower-cased, without scheme, port, path, trailing
// dot and a leading "www.", and it must hold a dot. Domains of free-mail
// providers are no company's domain and give no key.
type Normalizer struct {
	// StripPlusTags removes a "+tag" from the local part of e-mail
	// addresses. Default false.
	StripPlusTags bool
	// FreeMail lists the domains that never identify an account. Default
	// (nil) DefaultFreeMail.
	FreeMail []string

	free map[string]bool
}

// NewNormalizer returns a normalizer with its free-mail set built once.
func NewNormalizer(stripPlusTags bool, freeMail []string) *Normalizer {
	n := &Normalizer{StripPlusTags: stripPlusTags, FreeMail: freeMail}
	n.free = freeSet(freeMail)
	return n
}

func freeSet(list []string) map[string]bool {
	if list == nil {
		list = DefaultFreeMail()
	}
	m := make(map[string]bool, len(list))
	for _, d := range list {
		m[strings.ToLower(strings.TrimSpace(d))] = true
	}
	return m
}

// Email returns the match key of an e-mail address, or false when s is
// not one.
func (n *Normalizer) Email(s string) (string, bool) {
	e := strings.ToLower(strings.TrimSpace(s))
	at := strings.IndexByte(e, '@')
	if at <= 0 || at != strings.LastIndexByte(e, '@') || at == len(e)-1 {
		return "", false
	}
	local, domain := e[:at], e[at+1:]
	if hasAnyByte(e, " \t\r\n<>,;") || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return "", false
	}
	if n != nil && n.StripPlusTags {
		if i := strings.IndexByte(local, '+'); i > 0 {
			return local[:i] + "@" + domain, true
		}
	}
	return e, true
}

// Domain returns the match key of a domain, URL or e-mail address, or
// false when s holds no company domain (nothing usable, or a free-mail
// provider).
func (n *Normalizer) Domain(s string) (string, bool) {
	d := strings.ToLower(strings.TrimSpace(s))
	if d == "" {
		return "", false
	}
	if at := strings.LastIndexByte(d, '@'); at >= 0 {
		d = d[at+1:]
	} else if strings.Contains(d, "://") {
		u, err := url.Parse(d)
		if err != nil {
			return "", false
		}
		d = u.Hostname()
	} else {
		if i := strings.IndexAny(d, "/?#"); i >= 0 {
			d = d[:i]
		}
		if i := strings.LastIndexByte(d, ':'); i >= 0 && !strings.Contains(d, "]") {
			d = d[:i]
		}
	}
	d = strings.TrimSuffix(d, ".")
	d = strings.TrimPrefix(d, "www.")
	if d == "" || !strings.Contains(d, ".") || strings.HasPrefix(d, ".") || hasAnyByte(d, " \t\r\n@/\\") {
		return "", false
	}
	if n.isFree(d) {
		return "", false
	}
	return d, true
}

// hasAnyByte reports whether s holds a byte of set, which holds only
// ASCII characters (a UTF-8 sequence never holds an ASCII byte): as
// strings.ContainsAny, without building its set of characters on each
// call, since every object of every batch is normalised and keyed.
func hasAnyByte(s, set string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(set, s[i]) >= 0 {
			return true
		}
	}
	return false
}

// isFree reports whether d is a free-mail domain.
func (n *Normalizer) isFree(d string) bool {
	switch {
	case n != nil && n.free != nil:
		return n.free[d]
	case n != nil && n.FreeMail != nil:
		return slices.Contains(n.FreeMail, d)
	}
	return slices.Contains(DefaultFreeMail(), d)
}
