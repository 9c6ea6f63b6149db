package identity

import (
	"fmt"
	"strings"
)

// Id lists: a canonical id's external ids, as one string of netstrings
// (see the package doc, Keys in Redis). Only scripts write one, appending
// a member it does not hold in the call that reads it, so a member is
// never in a list twice.

// luaLists are the Lua functions the scripts share to read and add to id
// lists. list reads one, at most once per call (a member added in the
// call is added to what was read too); add appends a member the list does
// not hold yet. A list that is not netstrings fails the call, naming the
// key.
const luaLists = `
local lists = {}
local function list(key)
  local l = lists[key]
  if l then return l end
  local s = redis.call('GET', key) or ''
  local m, pos = {}, 1
  while pos <= #s do
    local digits = string.match(s, '^(%d+):', pos)
    local n = digits and tonumber(digits)
    local from = digits and pos + #digits + 1
    if not n or string.sub(s, from + n, from + n) ~= ',' then
      error('sluice identity: the id list ' .. key .. ' is not netstrings')
    end
    m[#m + 1] = string.sub(s, from, from + n - 1)
    pos = from + n + 1
  end
  l = {s = s, m = m}
  lists[key] = l
  return l
end
local function add(key, mem)
  local l = list(key)
  for _, x in ipairs(l.m) do
    if x == mem then return end
  end
  local tok = #mem .. ':' .. mem .. ','
  redis.call('APPEND', key, tok)
  l.s = l.s .. tok
  l.m[#l.m + 1] = mem
end
`

// addScript adds members to id lists, as the rebuild writes them from the
// topic: KEYS are id lists of one tenant, ARGV the member to add to each.
const addScript = luaLists + `
for i = 1, #KEYS do add(KEYS[i], ARGV[i]) end
return 1
`

// parseList returns the members of id list s, which share its memory.
func parseList(s string) ([]string, error) {
	var out []string
	for rest := s; rest != ""; {
		digits, tail, ok := strings.Cut(rest, ":")
		n, valid := 0, ok && digits != "" && len(digits) <= 9
		for i := 0; valid && i < len(digits); i++ {
			c := digits[i]
			valid = c >= '0' && c <= '9'
			n = n*10 + int(c-'0')
		}
		if !valid || n >= len(tail) || tail[n] != ',' {
			return nil, fmt.Errorf("id list is not netstrings at byte %d", len(s)-len(rest))
		}
		out = append(out, tail[:n])
		rest = tail[n+1:]
	}
	return out, nil
}

// hasMember reports whether members holds the member of an external id
// (see member), without building it.
func hasMember(members []string, system, integration, externalID string) bool {
	n := len(system) + len(integration) + len(externalID) + 2
	for _, x := range members {
		if len(x) == n && strings.HasPrefix(x, system) && x[len(system)] == '|' &&
			strings.HasPrefix(x[len(system)+1:], integration) && x[len(system)+1+len(integration)] == '|' &&
			strings.HasSuffix(x, externalID) {
			return true
		}
	}
	return false
}
