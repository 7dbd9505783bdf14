package http

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/weftxdr/weft"
)

// listParams are the OData query options of a list endpoint.
type listParams struct {
	Top    int
	Skip   int
	Count  bool
	Expand []string
	// Filter, OrderBy and Search are the raw $filter, $orderby and $search
	// of an endpoint that accepts them (parseQueueParams parses them).
	Filter, OrderBy, Search string
	HasFilter               bool
}

// parseListParams reads $top, $skip, $count and $expand (only the values in
// expandable). Any other $-option, or a value out of range, is refused with a
// precise error rather than ignored: a client that filters and silently gets
// everything back would act on the wrong data.
func parseListParams(q url.Values, expandable ...string) (listParams, error) {
	return parseListOptions(q, false, expandable...)
}

// parseListOptions is parseListParams that also takes $filter, $orderby and
// $search (unparsed) when queue is set.
func parseListOptions(q url.Values, queue bool, expandable ...string) (listParams, error) {
	p := listParams{Top: weft.DefaultPageSize}
	for k, vs := range q {
		if !strings.HasPrefix(k, "$") {
			continue
		}
		v := vs[len(vs)-1]
		if len(vs) > 1 {
			return p, weft.Errorf(weft.EINVALID, "%s is given %d times; give it once", k, len(vs))
		}
		switch k {
		case "$top":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > weft.MaxPageSize {
				return p, weft.Errorf(weft.EINVALID, "$top must be an integer from 1 to %d, not %q", weft.MaxPageSize, truncateForMessage(v))
			}
			p.Top = n
		case "$skip":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 1_000_000_000 {
				return p, weft.Errorf(weft.EINVALID, "$skip must be a non-negative integer, not %q", truncateForMessage(v))
			}
			p.Skip = n
		case "$count":
			switch v {
			case "true":
				p.Count = true
			case "false":
			default:
				return p, weft.Errorf(weft.EINVALID, "$count must be true or false, not %q", truncateForMessage(v))
			}
		case "$expand":
			for _, e := range strings.Split(v, ",") {
				e = strings.TrimSpace(e)
				ok := false
				for _, x := range expandable {
					ok = ok || e == x
				}
				if !ok {
					if len(expandable) == 0 {
						return p, weft.Errorf(weft.EINVALID, "$expand is not supported on this endpoint")
					}
					return p, weft.Errorf(weft.EINVALID, "$expand=%s is not supported; allowed: %s", truncateForMessage(e), strings.Join(expandable, ", "))
				}
				p.Expand = append(p.Expand, e)
			}
		case "$filter":
			if !queue {
				return p, weft.Errorf(weft.EUNSUPPORTED, "query option $filter is not supported on this endpoint (supported: $top, $skip, $count%s)", expandHint(expandable))
			}
			p.Filter, p.HasFilter = v, true
		case "$orderby", "$search":
			if !queue {
				return p, weft.Errorf(weft.EUNSUPPORTED, "query option %s is not supported on this endpoint (supported: $top, $skip, $count%s)", k, expandHint(expandable))
			}
			if k == "$orderby" {
				p.OrderBy = v
			} else {
				p.Search = v
			}
		default:
			hint := expandHint(expandable)
			if queue {
				hint += ", $filter, $orderby, $search"
			}
			return p, weft.Errorf(weft.EUNSUPPORTED, "query option %s is not supported on this endpoint (supported: $top, $skip, $count%s)", truncateForMessage(k), hint)
		}
	}
	return p, nil
}

func expandHint(expandable []string) string {
	if len(expandable) == 0 {
		return ""
	}
	return ", $expand"
}

func (p listParams) expands(name string) bool {
	for _, e := range p.Expand {
		if e == name {
			return true
		}
	}
	return false
}

// nextLink returns the URL of the page after this one: the request URL with
// $skip advanced by $top.
func nextLink(r *http.Request, p listParams) string {
	q := r.URL.Query()
	q.Set("$skip", strconv.Itoa(p.Skip+p.Top))
	q.Set("$top", strconv.Itoa(p.Top))
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	u := url.URL{Scheme: scheme, Host: r.Host, Path: r.URL.Path, RawQuery: q.Encode()}
	return u.String()
}

// listResponse is the OData collection shape: {"value":[…]} with the count and
// next link when they apply.
type listResponse[T any] struct {
	Context  string `json:"@odata.context,omitempty"`
	Count    *int64 `json:"@odata.count,omitempty"`
	NextLink string `json:"@odata.nextLink,omitempty"`
	Value    []T    `json:"value"`
}
