package s3

import (
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

type contentXML struct {
	Key               string `xml:"Key"`
	LastModified      string `xml:"LastModified"`
	ETag              string `xml:"ETag"`
	ChecksumAlgorithm string `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType      string `xml:"ChecksumType,omitempty"`
	Size              int64  `xml:"Size"`
	Owner             *owner `xml:"Owner,omitempty"`
	StorageClass      string `xml:"StorageClass"`
}

type prefixXML struct {
	Prefix string `xml:"Prefix"`
}

// listParams are the listing parameters shared by the List* operations.
type listParams struct {
	prefix, delimiter, encoding string
	maxKeys                     int
}

func parseListParams(q url.Values, maxName string) (listParams, error) {
	p := listParams{prefix: q.Get("prefix"), delimiter: q.Get("delimiter"), encoding: q.Get("encoding-type"), maxKeys: 1000}
	if p.encoding != "" && p.encoding != "url" {
		return p, invalidArgument("encoding-type", p.encoding, "Invalid Encoding Method specified in Request")
	}
	if v := q.Get(maxName); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return p, invalidArgument(maxName, v, "Provided %s not an integer or within integer range", maxName)
		}
		p.maxKeys = min(n, 1000)
	}
	return p, nil
}

// enc applies encoding-type=url to a name in a listing.
func (p listParams) enc(s string) string {
	if p.encoding != "url" || s == "" {
		return s
	}
	return strings.ReplaceAll(url.QueryEscape(s), "%2F", "/")
}

// commonPrefix returns the rolled-up prefix of key under the delimiter, or "".
func (p listParams) commonPrefix(key string) string {
	if p.delimiter == "" {
		return ""
	}
	rest := key[len(p.prefix):]
	if i := strings.Index(rest, p.delimiter); i >= 0 {
		return p.prefix + rest[:i+len(p.delimiter)]
	}
	return ""
}

func encodeToken(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func decodeToken(t string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil {
		return "", invalidArgument("continuation-token", t, "The continuation token provided is incorrect")
	}
	return string(b), nil
}

func listObjects(c *reqCtx) error {
	q := c.req.query
	p, err := parseListParams(q, "max-keys")
	if err != nil {
		return err
	}
	v2 := c.call.Action == "ListObjectsV2"
	extra := map[string]string{"s3:prefix": p.prefix, "s3:max-keys": strconv.Itoa(p.maxKeys)}
	if p.delimiter != "" {
		extra["s3:delimiter"] = p.delimiter
	}
	v, err := c.bucketFor("s3:ListBucket", "", extra)
	if err != nil {
		return err
	}
	start := q.Get("marker")
	if v2 {
		start = q.Get("start-after")
		if t := q.Get("continuation-token"); t != "" {
			tok, err := decodeToken(t)
			if err != nil {
				return err
			}
			start = max(start, tok)
		}
	}
	var contents []contentXML
	var prefixes []prefixXML
	truncated := false
	last := ""
	fetchOwner := !v2 || q.Get("fetch-owner") == "true"
	err = c.s.withBucket(c.req.bucket, func(b *bucket) error {
		lastPrefix := ""
		for _, key := range b.sortedKeys() {
			if key <= start || !strings.HasPrefix(key, p.prefix) {
				continue
			}
			o := b.current(key)
			if o == nil || o.deleteMarker {
				continue
			}
			cp := p.commonPrefix(key)
			if cp != "" && (cp == lastPrefix || strings.HasPrefix(start, cp)) {
				continue
			}
			if len(contents)+len(prefixes) >= p.maxKeys {
				truncated = p.maxKeys > 0
				break
			}
			if cp != "" {
				prefixes = append(prefixes, prefixXML{p.enc(cp)})
				lastPrefix, last = cp, cp
				continue
			}
			ct := contentXML{Key: p.enc(key), LastModified: timeXML(o.modified), ETag: o.etag,
				Size: int64(len(o.data)), StorageClass: "STANDARD", ChecksumAlgorithm: o.checksumAlg, ChecksumType: o.checksumType}
			if fetchOwner {
				ow := ownerOf(b.owner)
				ct.Owner = &ow
			}
			contents = append(contents, ct)
			last = key
		}
		return nil
	})
	if err != nil {
		return err
	}
	if v2 {
		out := struct {
			XMLName               xml.Name     `xml:"ListBucketResult"`
			Xmlns                 string       `xml:"xmlns,attr"`
			Name                  string       `xml:"Name"`
			Prefix                string       `xml:"Prefix"`
			Delimiter             string       `xml:"Delimiter,omitempty"`
			MaxKeys               int          `xml:"MaxKeys"`
			EncodingType          string       `xml:"EncodingType,omitempty"`
			KeyCount              int          `xml:"KeyCount"`
			IsTruncated           bool         `xml:"IsTruncated"`
			ContinuationToken     string       `xml:"ContinuationToken,omitempty"`
			NextContinuationToken string       `xml:"NextContinuationToken,omitempty"`
			StartAfter            string       `xml:"StartAfter,omitempty"`
			Contents              []contentXML `xml:"Contents"`
			CommonPrefixes        []prefixXML  `xml:"CommonPrefixes"`
		}{Xmlns: xmlns, Name: v.name, Prefix: p.enc(p.prefix), Delimiter: p.enc(p.delimiter), MaxKeys: p.maxKeys,
			EncodingType: p.encoding, KeyCount: len(contents) + len(prefixes), IsTruncated: truncated,
			ContinuationToken: q.Get("continuation-token"), StartAfter: p.enc(q.Get("start-after")),
			Contents: contents, CommonPrefixes: prefixes}
		if truncated {
			out.NextContinuationToken = encodeToken(last)
		}
		awsapi.WriteXML(c.w, c.call, http.StatusOK, out)
		return nil
	}
	out := struct {
		XMLName        xml.Name     `xml:"ListBucketResult"`
		Xmlns          string       `xml:"xmlns,attr"`
		Name           string       `xml:"Name"`
		Prefix         string       `xml:"Prefix"`
		Marker         string       `xml:"Marker"`
		NextMarker     string       `xml:"NextMarker,omitempty"`
		Delimiter      string       `xml:"Delimiter,omitempty"`
		MaxKeys        int          `xml:"MaxKeys"`
		EncodingType   string       `xml:"EncodingType,omitempty"`
		IsTruncated    bool         `xml:"IsTruncated"`
		Contents       []contentXML `xml:"Contents"`
		CommonPrefixes []prefixXML  `xml:"CommonPrefixes"`
	}{Xmlns: xmlns, Name: v.name, Prefix: p.enc(p.prefix), Marker: p.enc(start), Delimiter: p.enc(p.delimiter),
		MaxKeys: p.maxKeys, EncodingType: p.encoding, IsTruncated: truncated, Contents: contents, CommonPrefixes: prefixes}
	if truncated {
		out.NextMarker = p.enc(last)
	}
	awsapi.WriteXML(c.w, c.call, http.StatusOK, out)
	return nil
}

// versionXML is a Version or DeleteMarker entry; XMLName tells which.
type versionXML struct {
	XMLName           xml.Name
	Key               string `xml:"Key"`
	VersionID         string `xml:"VersionId"`
	IsLatest          bool   `xml:"IsLatest"`
	LastModified      string `xml:"LastModified"`
	ETag              string `xml:"ETag,omitempty"`
	ChecksumAlgorithm string `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType      string `xml:"ChecksumType,omitempty"`
	Size              *int64 `xml:"Size,omitempty"`
	StorageClass      string `xml:"StorageClass,omitempty"`
	Owner             owner  `xml:"Owner"`
}

func listObjectVersions(c *reqCtx) error {
	q := c.req.query
	p, err := parseListParams(q, "max-keys")
	if err != nil {
		return err
	}
	extra := map[string]string{"s3:prefix": p.prefix, "s3:max-keys": strconv.Itoa(p.maxKeys)}
	if p.delimiter != "" {
		extra["s3:delimiter"] = p.delimiter
	}
	v, err := c.bucketFor("s3:ListBucketVersions", "", extra)
	if err != nil {
		return err
	}
	keyMarker, vidMarker := q.Get("key-marker"), q.Get("version-id-marker")
	if vidMarker != "" && keyMarker == "" {
		return invalidArgument("version-id-marker", vidMarker, "A version-id marker cannot be specified without a key marker.")
	}
	var entries []versionXML
	var prefixes []prefixXML
	truncated := false
	var nextKey, nextVersion string
	count := 0
	err = c.s.withBucket(c.req.bucket, func(b *bucket) error {
		ow := ownerOf(b.owner)
		lastPrefix := ""
		for _, key := range b.sortedKeys() {
			if !strings.HasPrefix(key, p.prefix) || key < keyMarker || key == keyMarker && vidMarker == "" {
				continue
			}
			cp := p.commonPrefix(key)
			if cp != "" {
				if cp == lastPrefix || strings.HasPrefix(keyMarker, cp) {
					continue
				}
				if count >= p.maxKeys {
					truncated = p.maxKeys > 0
					return nil
				}
				prefixes = append(prefixes, prefixXML{p.enc(cp)})
				lastPrefix, nextKey, nextVersion = cp, cp, ""
				count++
				continue
			}
			vs := b.objects[key]
			skipping := key == keyMarker
			for i := len(vs) - 1; i >= 0; i-- {
				o := vs[i]
				if skipping {
					if o.versionID == vidMarker {
						skipping = false
					}
					continue
				}
				if count >= p.maxKeys {
					truncated = p.maxKeys > 0
					return nil
				}
				e := versionXML{Key: p.enc(key), VersionID: o.versionID, IsLatest: i == len(vs)-1,
					LastModified: timeXML(o.modified), Owner: ow}
				if o.deleteMarker {
					e.XMLName.Local = "DeleteMarker"
				} else {
					size := int64(len(o.data))
					e.XMLName.Local, e.ETag, e.Size, e.StorageClass = "Version", o.etag, &size, "STANDARD"
					e.ChecksumAlgorithm, e.ChecksumType = o.checksumAlg, o.checksumType
				}
				entries = append(entries, e)
				nextKey, nextVersion = key, o.versionID
				count++
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	out := struct {
		XMLName             xml.Name     `xml:"ListVersionsResult"`
		Xmlns               string       `xml:"xmlns,attr"`
		Name                string       `xml:"Name"`
		Prefix              string       `xml:"Prefix"`
		KeyMarker           string       `xml:"KeyMarker"`
		VersionIDMarker     string       `xml:"VersionIdMarker"`
		NextKeyMarker       string       `xml:"NextKeyMarker,omitempty"`
		NextVersionIDMarker string       `xml:"NextVersionIdMarker,omitempty"`
		Delimiter           string       `xml:"Delimiter,omitempty"`
		MaxKeys             int          `xml:"MaxKeys"`
		EncodingType        string       `xml:"EncodingType,omitempty"`
		IsTruncated         bool         `xml:"IsTruncated"`
		Entries             []versionXML `xml:""`
		CommonPrefixes      []prefixXML  `xml:"CommonPrefixes"`
	}{Xmlns: xmlns, Name: v.name, Prefix: p.enc(p.prefix), KeyMarker: p.enc(keyMarker), VersionIDMarker: vidMarker,
		Delimiter: p.enc(p.delimiter), MaxKeys: p.maxKeys, EncodingType: p.encoding, IsTruncated: truncated,
		Entries: entries, CommonPrefixes: prefixes}
	if truncated {
		out.NextKeyMarker, out.NextVersionIDMarker = p.enc(nextKey), nextVersion
	}
	awsapi.WriteXML(c.w, c.call, http.StatusOK, out)
	return nil
}
