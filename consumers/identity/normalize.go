package identity

import (
	"net/url"
	"slices"
	"strings"
)

// DefaultFreeMail returns the mailbox providers whose domain says
// nothing about the company a person works for: webmail (gmail.com,
// outlook.com and their country domains, ...) and the mail of internet
// providers (comcast.net, btinternet.com, ...). An address there never
// gives an account a domain to match on: it would join every customer
// who has one into one account.
func DefaultFreeMail() []string {
	return []string{
		// Google, Microsoft, Yahoo, Apple, AOL and their country domains.
		"gmail.com", "googlemail.com",
		"hotmail.com", "hotmail.co.uk", "hotmail.fr", "hotmail.de", "hotmail.it", "hotmail.es", "hotmail.nl", "hotmail.be",
		"hotmail.ca", "hotmail.com.br", "hotmail.com.au", "hotmail.co.jp",
		"outlook.com", "outlook.de", "outlook.fr", "outlook.it", "outlook.es", "outlook.co.uk", "outlook.com.br", "outlook.jp",
		"live.com", "live.co.uk", "live.fr", "live.de", "live.it", "live.nl", "live.be", "live.ca", "live.com.au", "msn.com", "passport.com",
		"yahoo.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de", "yahoo.it", "yahoo.es", "yahoo.ca", "yahoo.co.jp", "yahoo.co.in",
		"yahoo.com.br", "yahoo.com.au", "yahoo.com.mx", "yahoo.com.ar", "yahoo.co.id", "ymail.com", "rocketmail.com",
		"icloud.com", "me.com", "mac.com", "aol.com", "aol.co.uk", "aim.com",
		// Independent webmail.
		"proton.me", "protonmail.com", "protonmail.ch", "pm.me", "tutanota.com", "tutanota.de", "tuta.io", "tutamail.com",
		"zoho.com", "zohomail.com", "zoho.eu", "fastmail.com", "fastmail.fm", "hey.com", "hushmail.com", "mailbox.org", "posteo.de",
		"mail.com", "email.com", "gmx.de", "gmx.net", "gmx.com", "gmx.at", "gmx.ch", "gmx.fr", "web.de", "mail.de", "freenet.de",
		"yandex.ru", "yandex.com", "yandex.ua", "ya.ru", "mail.ru", "inbox.ru", "list.ru", "bk.ru", "rambler.ru", "ukr.net",
		"qq.com", "foxmail.com", "163.com", "126.com", "yeah.net", "sina.com", "sohu.com", "aliyun.com",
		"naver.com", "daum.net", "hanmail.net", "rediffmail.com",
		"seznam.cz", "wp.pl", "o2.pl", "interia.pl", "onet.pl", "libero.it", "virgilio.it", "tiscali.it",
		"laposte.net", "orange.fr", "wanadoo.fr", "free.fr", "sfr.fr",
		// Internet providers' mail.
		"comcast.net", "att.net", "sbcglobal.net", "bellsouth.net", "verizon.net", "cox.net", "charter.net", "earthlink.net",
		"optonline.net", "frontier.com", "windstream.net", "juno.com", "netzero.net",
		"btinternet.com", "sky.com", "virginmedia.com", "talktalk.net", "ntlworld.com", "blueyonder.co.uk",
		"t-online.de", "arcor.de", "bluewin.ch", "telenet.be", "skynet.be", "ziggo.nl", "kpnmail.nl", "online.no", "telia.com",
		"shaw.ca", "rogers.com", "sympatico.ca", "videotron.ca", "bigpond.com", "optusnet.com.au", "xtra.co.nz",
		"terra.com.br", "uol.com.br", "bol.com.br",
	}
}

// DefaultSharedHosts returns the hosts where a company's page is a path,
// not a domain of its own: social networks, code hosting, link pages
// (facebook.com/acmebakery, linkedin.com/company/acme). A website there
// gives an account no domain to match on: it would join every company
// with a page on the host into one account. The host's own site (the
// bare host, without a path) and an e-mail address at it still do. Hosts
// that give each site a subdomain (acme.wixsite.com) need no entry.
func DefaultSharedHosts() []string {
	return []string{
		"facebook.com", "fb.com", "fb.me", "instagram.com", "linkedin.com", "twitter.com", "x.com", "threads.net",
		"youtube.com", "youtu.be", "tiktok.com", "pinterest.com", "reddit.com", "tumblr.com", "medium.com", "substack.com",
		"github.com", "gitlab.com", "bitbucket.org", "sites.google.com", "business.google.com", "g.page", "goo.gl", "maps.google.com",
		"linktr.ee", "about.me", "bio.link", "t.me", "wa.me", "yelp.com", "tripadvisor.com", "trustpilot.com",
		"crunchbase.com", "wellfound.com", "angel.co", "glassdoor.com", "indeed.com", "notion.so", "etsy.com", "amazon.com",
		"apps.apple.com", "play.google.com", "wix.com", "squarespace.com", "weebly.com", "godaddysites.com", "bit.ly",
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
// providers are no company's domain and give no key; nor does a page
// with a path on a shared host (SharedHosts: "linkedin.com/company/acme"),
// or on a subdomain of one.
type Normalizer struct {
	// StripPlusTags removes a "+tag" from the local part of e-mail
	// addresses. Default false.
	StripPlusTags bool
	// FreeMail lists the domains that never identify an account. Default
	// (nil) DefaultFreeMail.
	FreeMail []string
	// SharedHosts lists the hosts whose pages (with a path) never
	// identify an account. Default (nil) DefaultSharedHosts.
	SharedHosts []string

	free, shared map[string]bool
}

// NewNormalizer returns a normalizer with its sets of free-mail domains
// and shared hosts built once; nil stands for the default list.
func NewNormalizer(stripPlusTags bool, freeMail, sharedHosts []string) *Normalizer {
	n := &Normalizer{StripPlusTags: stripPlusTags, FreeMail: freeMail, SharedHosts: sharedHosts}
	n.free = hostSet(freeMail, DefaultFreeMail)
	n.shared = hostSet(sharedHosts, DefaultSharedHosts)
	return n
}

// hostSet returns the set of list, or of def() when list is nil.
func hostSet(list []string, def func() []string) map[string]bool {
	if list == nil {
		list = def()
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
	page := false // a URL or domain with a path: a page on its host
	if at := strings.LastIndexByte(d, '@'); at >= 0 {
		d = d[at+1:]
	} else if strings.Contains(d, "://") {
		u, err := url.Parse(d)
		if err != nil {
			return "", false
		}
		d, page = u.Hostname(), strings.Trim(u.Path, "/") != ""
	} else {
		if i := strings.IndexAny(d, "/?#"); i >= 0 {
			d, page = d[:i], d[i] == '/' && strings.Trim(d[i:], "/") != ""
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
	if n.isFree(d) || page && n.isShared(d) {
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

// isShared reports whether d is a shared host or a subdomain of one.
func (n *Normalizer) isShared(d string) bool {
	for {
		if n.sharedHost(d) {
			return true
		}
		i := strings.IndexByte(d, '.')
		if i < 0 || !strings.Contains(d[i+1:], ".") {
			return false
		}
		d = d[i+1:]
	}
}

// sharedHost reports whether d is a shared host, as isFree reports a
// free-mail domain.
func (n *Normalizer) sharedHost(d string) bool {
	switch {
	case n != nil && n.shared != nil:
		return n.shared[d]
	case n != nil && n.SharedHosts != nil:
		return slices.Contains(n.SharedHosts, d)
	}
	return slices.Contains(DefaultSharedHosts(), d)
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
