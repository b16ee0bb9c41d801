package s3

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

const maxKeyLength = 1024

func checkKey(key string) error {
	if len(key) > maxKeyLength {
		e := awsapi.Errorf(http.StatusBadRequest, "KeyTooLongError", "Your key is too long")
		e.Fields = map[string]string{"MaxSizeAllowed": strconv.Itoa(maxKeyLength), "Size": strconv.Itoa(len(key))}
		return e
	}
	return nil
}

// sseFromRequest reads x-amz-server-side-encryption headers; empty means "use the bucket default".
func sseFromRequest(h http.Header) (alg, kmsKey string, err error) {
	alg = h.Get("x-amz-server-side-encryption")
	kmsKey = h.Get("x-amz-server-side-encryption-aws-kms-key-id")
	switch alg {
	case "":
		if kmsKey != "" {
			return "", "", invalidArgument("x-amz-server-side-encryption", "", "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms")
		}
	case "AES256":
		if kmsKey != "" {
			return "", "", invalidArgument("x-amz-server-side-encryption-aws-kms-key-id", kmsKey, "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms")
		}
	case "aws:kms", "aws:kms:dsse":
	default:
		return "", "", invalidArgument("x-amz-server-side-encryption", alg, "The encryption method specified is not supported")
	}
	return alg, kmsKey, nil
}

// objectFromHeaders builds the metadata part of a new object from request headers.
func objectFromHeaders(key string, h http.Header) *object {
	o := &object{key: key, header: http.Header{}, meta: map[string]string{}}
	for _, name := range storedHeaders {
		if v := h.Get(name); v != "" {
			o.header.Set(name, v)
		}
	}
	if ce := storedContentEncoding(h.Get("Content-Encoding")); ce != "" {
		o.header.Set("Content-Encoding", ce)
	} else {
		o.header.Del("Content-Encoding")
	}
	for name, vals := range h {
		if m, ok := strings.CutPrefix(strings.ToLower(name), "x-amz-meta-"); ok && len(vals) > 0 {
			o.meta[m] = strings.Join(vals, ",")
		}
	}
	return o
}

func sameETag(want, etag string) bool {
	for _, w := range strings.Split(want, ",") {
		w = strings.TrimSpace(w)
		if w == "*" || strings.Trim(w, `"`) == strings.Trim(etag, `"`) {
			return true
		}
	}
	return false
}

// checkWriteConditions applies If-None-Match: * and If-Match to a write of key.
func checkWriteConditions(h http.Header, cur *object, key string) error {
	exists := cur != nil && !cur.deleteMarker
	if inm := h.Get("If-None-Match"); inm != "" {
		if inm != "*" {
			e := awsapi.Errorf(http.StatusNotImplemented, "NotImplemented", "A header you provided implies functionality that is not implemented")
			e.Fields = map[string]string{"Header": "If-None-Match"}
			return e
		}
		if exists {
			return preconditionFailed("If-None-Match")
		}
	}
	if im := h.Get("If-Match"); im != "" {
		if !exists {
			return noSuchKey(key)
		}
		if !sameETag(im, cur.etag) {
			return preconditionFailed("If-Match")
		}
	}
	return nil
}

// written is what a successful write reports and notifies.
type written struct {
	obj         *object
	versioning  string
	owner       string
	region      string
	eventBridge bool
}

// store adds o (data, etag and metadata set) to the bucket, applying the
// bucket's default encryption and the request's write conditions.
func (c *reqCtx) store(bucketName string, o *object, conds http.Header) (written, error) {
	var w written
	err := c.s.withBucket(bucketName, func(b *bucket) error {
		if conds != nil {
			if err := checkWriteConditions(conds, b.current(o.key), o.key); err != nil {
				return err
			}
		}
		if o.sse == "" && b.sseAlg != "" {
			o.sse, o.kmsKeyID = b.sseAlg, b.kmsKeyID
		}
		if o.sse == "aws:kms" && o.kmsKeyID == "" {
			o.kmsKeyID = "arn:aws:kms:" + b.region + ":" + b.owner + ":alias/aws/s3"
		}
		if o.sse == "aws:kms" && c.s.kms != nil {
			// A key id names a key of the bucket's account and region.
			if !strings.HasPrefix(o.kmsKeyID, "arn:") && !strings.HasPrefix(o.kmsKeyID, "alias/") {
				o.kmsKeyID = "arn:aws:kms:" + b.region + ":" + b.owner + ":key/" + o.kmsKeyID
			}
			if err := c.s.kms.Use(c.call, "kms:GenerateDataKey", o.kmsKeyID, b.owner, b.region); err != nil {
				return err
			}
		}
		o.versionID = b.newVersionID()
		o.modified = c.now()
		b.add(o)
		w = written{obj: o, versioning: b.versioning, owner: b.owner, region: b.region, eventBridge: b.eventBridge}
		return nil
	})
	return w, err
}

func (c *reqCtx) notifyCreated(bucketName string, w written) {
	if c.s.notify == nil {
		return
	}
	c.s.notify(ObjectCreated{
		Account: w.owner, Region: w.region, Bucket: bucketName, Key: w.obj.key,
		VersionID: w.obj.versionID, Size: int64(len(w.obj.data)), ETag: strings.Trim(w.obj.etag, `"`),
		Time: w.obj.modified, RequesterARN: c.call.Caller.ARN,
		EventBridge: w.eventBridge, Reason: c.call.Action, Sequencer: nextSequencer(w.obj.modified),
		RequestID: c.call.RequestID, SourceIP: c.call.SourceIP,
	})
}

// writeHeaders sets the version and encryption headers of a write response.
func writeHeaders(h http.Header, w written) {
	if w.versioning != "" {
		h.Set("x-amz-version-id", w.obj.versionID)
	}
	if w.obj.sse != "" {
		h.Set("x-amz-server-side-encryption", w.obj.sse)
		if w.obj.kmsKeyID != "" {
			h.Set("x-amz-server-side-encryption-aws-kms-key-id", w.obj.kmsKeyID)
		}
	}
}

// authorizeWrite checks a new object's key and that the caller may write
// it (with the encryption it asks for, a condition key bucket policies use),
// and returns that encryption.
func authorizeWrite(c *reqCtx, key string) (alg, kmsKey string, err error) {
	if err := checkKey(key); err != nil {
		return "", "", err
	}
	extra := map[string]string{}
	if v := c.r.Header.Get("x-amz-server-side-encryption"); v != "" {
		extra["s3:x-amz-server-side-encryption"] = v
	}
	if _, err := c.bucketFor("s3:PutObject", key, extra); err != nil {
		return "", "", err
	}
	return sseFromRequest(c.r.Header)
}

func putObject(c *reqCtx) error {
	key := c.req.key
	alg, kmsKey, err := authorizeWrite(c, key)
	if err != nil {
		return err
	}
	p, err := readBody(c.r, maxObjectBody)
	if err != nil {
		return err
	}
	csAlg, cs, err := checkIntegrity(c.r, p)
	if err != nil {
		return err
	}
	o := objectFromHeaders(key, c.r.Header)
	o.data, o.etag = p.data, `"`+md5Hex(p.data)+`"`
	o.sse, o.kmsKeyID = alg, kmsKey
	o.checksumAlg, o.checksum = csAlg, cs
	if csAlg != "" {
		o.checksumType = "FULL_OBJECT"
	}
	w, err := c.store(c.req.bucket, o, c.r.Header)
	if err != nil {
		return err
	}
	h := c.w.Header()
	h.Set("ETag", o.etag)
	writeHeaders(h, w)
	if cs != "" {
		h.Set(checksumHeader(csAlg), cs)
		h.Set("x-amz-checksum-type", o.checksumType)
	}
	okEmpty(c)
	c.notifyCreated(c.req.bucket, w)
	return nil
}

// objectHeaders sets the headers describing o on a read response.
func objectHeaders(h http.Header, o *object, versioning string, q url.Values) {
	for name, vals := range o.header {
		h[name] = vals
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "binary/octet-stream")
	}
	for m, v := range o.meta {
		h.Set("x-amz-meta-"+m, v)
	}
	h.Set("ETag", o.etag)
	h.Set("Last-Modified", o.modified.UTC().Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	if versioning != "" {
		h.Set("x-amz-version-id", o.versionID)
	}
	if o.sse != "" {
		h.Set("x-amz-server-side-encryption", o.sse)
		if o.kmsKeyID != "" {
			h.Set("x-amz-server-side-encryption-aws-kms-key-id", o.kmsKeyID)
		}
	}
	if o.parts > 0 {
		h.Set("x-amz-mp-parts-count", strconv.Itoa(o.parts))
	}
	// Response overrides (allowed for signed requests).
	for param, header := range map[string]string{
		"response-content-type": "Content-Type", "response-content-language": "Content-Language",
		"response-expires": "Expires", "response-cache-control": "Cache-Control",
		"response-content-disposition": "Content-Disposition", "response-content-encoding": "Content-Encoding",
	} {
		if v := q.Get(param); v != "" {
			h.Set(header, v)
		}
	}
}

// readConditions applies If-Match / If-Unmodified-Since (412) and If-None-Match /
// If-Modified-Since (304) to a read of o.
func readConditions(h http.Header, o *object) (notModified bool, err error) {
	mod := o.modified.Truncate(time.Second)
	if im := h.Get("If-Match"); im != "" {
		if !sameETag(im, o.etag) {
			return false, preconditionFailed("If-Match")
		}
	} else if ius := h.Get("If-Unmodified-Since"); ius != "" {
		if t, err := http.ParseTime(ius); err == nil && mod.After(t) {
			return false, preconditionFailed("If-Unmodified-Since")
		}
	}
	if inm := h.Get("If-None-Match"); inm != "" {
		return sameETag(inm, o.etag), nil
	}
	if ims := h.Get("If-Modified-Since"); ims != "" {
		if t, err := http.ParseTime(ims); err == nil && !mod.After(t) {
			return true, nil
		}
	}
	return false, nil
}

// parseRange parses a single "bytes=" range against size; ok=false means "serve everything".
func parseRange(v string, size int64) (start, end int64, ok bool, err error) {
	spec, found := strings.CutPrefix(v, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false, nil // S3 ignores ranges it does not support
	}
	a, b, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false, nil
	}
	invalid := func() error {
		e := awsapi.Errorf(http.StatusRequestedRangeNotSatisfiable, "InvalidRange", "The requested range is not satisfiable")
		e.Fields = map[string]string{"RangeRequested": v, "ActualObjectSize": strconv.FormatInt(size, 10)}
		return e
	}
	switch {
	case a == "":
		n, perr := strconv.ParseInt(b, 10, 64)
		if perr != nil || n < 0 {
			return 0, 0, false, nil
		}
		if n == 0 {
			return 0, 0, false, invalid()
		}
		if n > size {
			n = size
		}
		return size - n, size - 1, true, nil
	default:
		s, perr := strconv.ParseInt(a, 10, 64)
		if perr != nil || s < 0 {
			return 0, 0, false, nil
		}
		e := size - 1
		if b != "" {
			x, perr := strconv.ParseInt(b, 10, 64)
			if perr != nil || x < s {
				return 0, 0, false, nil
			}
			if x < e {
				e = x
			}
		}
		if s >= size {
			return 0, 0, false, invalid()
		}
		return s, e, true, nil
	}
}

// readTarget finds the object (or version) a read names and authorizes it.
// Missing keys are 404 only for callers who may list the bucket, as on S3.
func (c *reqCtx) readTarget(bucketName, key, versionID string) (*object, string, error) {
	action := "s3:GetObject"
	if versionID != "" {
		action = "s3:GetObjectVersion"
	}
	v, err := c.s.view(bucketName)
	if err != nil {
		return nil, "", err
	}
	if err := c.s.authorize(c.call, action, v, key, nil); err != nil {
		return nil, "", err
	}
	var o *object
	var versioning string
	err = c.s.withBucket(bucketName, func(b *bucket) error {
		versioning = b.versioning
		if versionID != "" {
			o = b.version(key, versionID)
			if o == nil {
				return noSuchVersion(key, versionID)
			}
			return nil
		}
		o = b.current(key)
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	if o == nil || o.deleteMarker && versionID == "" {
		if c.s.authorize(c.call, "s3:ListBucket", v, "", nil) != nil {
			return nil, "", awsapi.AccessDenied("Access Denied")
		}
		if o != nil {
			c.w.Header().Set("x-amz-delete-marker", "true")
			if versioning != "" {
				c.w.Header().Set("x-amz-version-id", o.versionID)
			}
		}
		return nil, "", noSuchKey(key)
	}
	if o.deleteMarker {
		c.w.Header().Set("x-amz-delete-marker", "true")
		c.w.Header().Set("Last-Modified", o.modified.UTC().Format(http.TimeFormat))
		e := awsapi.Errorf(http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.")
		e.Fields = map[string]string{"Method": c.r.Method, "ResourceType": "DeleteMarker"}
		return nil, "", e
	}
	return o, versioning, nil
}

func getObject(c *reqCtx) error {
	key := c.req.key
	o, versioning, err := c.readTarget(c.req.bucket, key, c.req.query.Get("versionId"))
	if err != nil {
		return err
	}
	// Reading an SSE-KMS object's data takes kms:Decrypt on its key (HEAD
	// reads metadata only).
	if o.sse == "aws:kms" && c.s.kms != nil && c.r.Method != http.MethodHead {
		if err := c.s.kms.Use(c.call, "kms:Decrypt", o.kmsKeyID, "", ""); err != nil {
			return err
		}
	}
	h := c.w.Header()
	notModified, err := readConditions(c.r.Header, o)
	if err != nil {
		return err
	}
	objectHeaders(h, o, versioning, c.req.query)
	h.Set("x-amz-request-id", c.call.RequestID)
	if notModified {
		for _, k := range []string{"Content-Type", "Content-Length", "Content-Encoding"} {
			h.Del(k)
		}
		c.w.WriteHeader(http.StatusNotModified)
		return nil
	}
	data := o.data
	size := int64(len(data))
	status := http.StatusOK
	start, end, ranged, err := parseRange(c.r.Header.Get("Range"), size)
	if err != nil {
		return err
	}
	if pn := c.req.query.Get("partNumber"); pn != "" && !ranged {
		n, perr := strconv.Atoi(pn)
		if perr != nil || n < 1 || n > 10000 {
			return invalidArgument("partNumber", pn, "Part number must be an integer between 1 and 10000, inclusive")
		}
		s, e, ok := o.partRange(n)
		if !ok {
			return invalidPartNumber()
		}
		start, end, ranged = s, e, true
		if o.parts == 0 {
			h.Set("x-amz-mp-parts-count", "1")
		}
	}
	if ranged {
		if size == 0 {
			return invalidPartNumber()
		}
		data = data[start : end+1]
		status = http.StatusPartialContent
		h.Set("Content-Range", "bytes "+strconv.FormatInt(start, 10)+"-"+strconv.FormatInt(end, 10)+"/"+strconv.FormatInt(size, 10))
	} else if o.checksum != "" && strings.EqualFold(c.r.Header.Get("x-amz-checksum-mode"), "ENABLED") {
		h.Set(checksumHeader(o.checksumAlg), o.checksum)
		h.Set("x-amz-checksum-type", o.checksumType)
	}
	h.Set("Content-Length", strconv.Itoa(len(data)))
	c.w.WriteHeader(status)
	if c.r.Method != http.MethodHead {
		_, _ = c.w.Write(data)
	}
	return nil
}

func invalidPartNumber() error {
	return awsapi.Errorf(http.StatusRequestedRangeNotSatisfiable, "InvalidPartNumber", "The requested partnumber is not satisfiable")
}

// partRange is the byte range of part n (1-based) of o.
func (o *object) partRange(n int) (start, end int64, ok bool) {
	if o.parts == 0 {
		if n != 1 || len(o.data) == 0 {
			return 0, 0, false
		}
		return 0, int64(len(o.data)) - 1, true
	}
	if n > len(o.partSizes) {
		return 0, 0, false
	}
	for _, s := range o.partSizes[:n-1] {
		start += s
	}
	return start, start + o.partSizes[n-1] - 1, true
}

// deleteOne removes key (or one version of it) following the bucket's versioning state.
func (s *Service) deleteOne(bucketName, key, versionID string, now time.Time) (marker bool, markerVersion string, versioning string, err error) {
	err = s.withBucket(bucketName, func(b *bucket) error {
		versioning = b.versioning
		if versionID != "" {
			if o := b.removeVersion(key, versionID); o != nil && o.deleteMarker {
				marker, markerVersion = true, versionID
			}
			return nil
		}
		switch b.versioning {
		case "":
			b.removeVersion(key, "null")
		default:
			m := &object{key: key, deleteMarker: true, versionID: b.newVersionID(), modified: now}
			b.add(m)
			marker, markerVersion = true, m.versionID
		}
		return nil
	})
	return marker, markerVersion, versioning, err
}

func deleteObject(c *reqCtx) error {
	key := c.req.key
	versionID := c.req.query.Get("versionId")
	action := "s3:DeleteObject"
	if versionID != "" {
		action = "s3:DeleteObjectVersion"
	}
	if _, err := c.bucketFor(action, key, nil); err != nil {
		return err
	}
	marker, mv, _, err := c.s.deleteOne(c.req.bucket, key, versionID, c.now())
	if err != nil {
		return err
	}
	h := c.w.Header()
	if marker {
		h.Set("x-amz-delete-marker", "true")
		h.Set("x-amz-version-id", mv)
	} else if versionID != "" {
		h.Set("x-amz-version-id", versionID)
	}
	noContent(c)
	return nil
}

func deleteObjects(c *reqCtx) error {
	v, err := c.s.view(c.req.bucket)
	if err != nil {
		return err
	}
	hasSum := c.r.Header.Get("Content-MD5") != "" || c.r.Header.Get("x-amz-sdk-checksum-algorithm") != ""
	for _, a := range checksumAlgorithms {
		hasSum = hasSum || c.r.Header.Get(checksumHeader(a)) != ""
	}
	if !hasSum {
		return awsapi.Errorf(http.StatusBadRequest, "InvalidRequest", "Missing required header for this request: Content-MD5 OR x-amz-checksum-*")
	}
	var req struct {
		Quiet   bool `xml:"Quiet"`
		Objects []struct {
			Key       string `xml:"Key"`
			VersionID string `xml:"VersionId"`
		} `xml:"Object"`
	}
	if err := decodeXML(c.r, &req, false); err != nil {
		return err
	}
	if len(req.Objects) == 0 || len(req.Objects) > 1000 {
		return malformedXML()
	}
	type deleted struct {
		Key                   string `xml:"Key"`
		VersionID             string `xml:"VersionId,omitempty"`
		DeleteMarker          bool   `xml:"DeleteMarker,omitempty"`
		DeleteMarkerVersionID string `xml:"DeleteMarkerVersionId,omitempty"`
	}
	type failed struct {
		Key       string `xml:"Key"`
		VersionID string `xml:"VersionId,omitempty"`
		Code      string `xml:"Code"`
		Message   string `xml:"Message"`
	}
	out := struct {
		XMLName xml.Name  `xml:"DeleteResult"`
		Xmlns   string    `xml:"xmlns,attr"`
		Deleted []deleted `xml:"Deleted"`
		Errors  []failed  `xml:"Error"`
	}{Xmlns: xmlns}
	for _, obj := range req.Objects {
		action := "s3:DeleteObject"
		if obj.VersionID != "" {
			action = "s3:DeleteObjectVersion"
		}
		if err := c.s.authorize(c.call, action, v, obj.Key, nil); err != nil {
			e := awsapi.AsError(err)
			out.Errors = append(out.Errors, failed{obj.Key, obj.VersionID, e.Code, e.Message})
			continue
		}
		marker, mv, _, err := c.s.deleteOne(c.req.bucket, obj.Key, obj.VersionID, c.now())
		if err != nil {
			e := awsapi.AsError(err)
			out.Errors = append(out.Errors, failed{obj.Key, obj.VersionID, e.Code, e.Message})
			continue
		}
		if req.Quiet {
			continue
		}
		d := deleted{Key: obj.Key, VersionID: obj.VersionID, DeleteMarker: marker}
		if marker {
			d.DeleteMarkerVersionID = mv
		}
		out.Deleted = append(out.Deleted, d)
	}
	awsapi.WriteXML(c.w, c.call, http.StatusOK, out)
	return nil
}

// copySource parses x-amz-copy-source: "[/]bucket/key[?versionId=v]", URL-encoded.
func copySource(v string) (bucketName, key, versionID string, err error) {
	path, query, _ := strings.Cut(v, "?")
	if query != "" {
		q, perr := url.ParseQuery(query)
		if perr != nil {
			return "", "", "", invalidArgument("x-amz-copy-source", v, "Invalid copy source encoding")
		}
		versionID = q.Get("versionId")
	}
	p, perr := url.PathUnescape(path)
	if perr != nil {
		return "", "", "", invalidArgument("x-amz-copy-source", v, "Invalid copy source encoding")
	}
	bucketName, key, _ = strings.Cut(strings.TrimPrefix(p, "/"), "/")
	if bucketName == "" || key == "" {
		return "", "", "", invalidArgument("x-amz-copy-source", v, "Invalid copy source object key")
	}
	return bucketName, key, versionID, nil
}

func copyObject(c *reqCtx) error {
	key := c.req.key
	if err := checkKey(key); err != nil {
		return err
	}
	srcBucket, srcKey, srcVersion, err := copySource(c.r.Header.Get("x-amz-copy-source"))
	if err != nil {
		return err
	}
	extra := map[string]string{}
	if v := c.r.Header.Get("x-amz-server-side-encryption"); v != "" {
		extra["s3:x-amz-server-side-encryption"] = v
	}
	if _, err := c.bucketFor("s3:PutObject", key, extra); err != nil {
		return err
	}
	src, _, err := c.readTarget(srcBucket, srcKey, srcVersion)
	if err != nil {
		return err
	}
	// Copy-source conditions.
	h := c.r.Header
	if v := h.Get("x-amz-copy-source-if-match"); v != "" && !sameETag(v, src.etag) {
		return preconditionFailed("x-amz-copy-source-If-Match")
	}
	if v := h.Get("x-amz-copy-source-if-none-match"); v != "" && sameETag(v, src.etag) {
		return preconditionFailed("x-amz-copy-source-If-None-Match")
	}
	alg, kmsKey, err := sseFromRequest(h)
	if err != nil {
		return err
	}
	directive := h.Get("x-amz-metadata-directive")
	if directive != "" && directive != "COPY" && directive != "REPLACE" {
		return invalidArgument("x-amz-metadata-directive", directive, "Unknown metadata directive.")
	}
	if srcBucket == c.req.bucket && srcKey == key && srcVersion == "" && directive != "REPLACE" && alg == "" &&
		h.Get("x-amz-storage-class") == "" && h.Get("x-amz-website-redirect-location") == "" {
		return awsapi.Errorf(http.StatusBadRequest, "InvalidRequest",
			"This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
	}
	var o *object
	if directive == "REPLACE" {
		o = objectFromHeaders(key, h)
	} else {
		o = &object{key: key, header: src.header.Clone(), meta: map[string]string{}}
		for k, v := range src.meta {
			o.meta[k] = v
		}
	}
	o.data = src.data
	o.etag = `"` + md5Hex(src.data) + `"`
	o.sse, o.kmsKeyID = alg, kmsKey
	if src.checksumAlg != "" && src.parts == 0 {
		o.checksumAlg, o.checksum, o.checksumType = src.checksumAlg, src.checksum, src.checksumType
	}
	if a := strings.ToUpper(h.Get("x-amz-checksum-algorithm")); newChecksum(a) != nil {
		o.checksumAlg, o.checksum, o.checksumType = a, checksumOf(a, o.data), "FULL_OBJECT"
	}
	w, err := c.store(c.req.bucket, o, nil)
	if err != nil {
		return err
	}
	rh := c.w.Header()
	writeHeaders(rh, w)
	if src.versionID != "" && src.versionID != "null" || srcVersion != "" {
		rh.Set("x-amz-copy-source-version-id", src.versionID)
	}
	res := struct {
		XMLName      xml.Name `xml:"CopyObjectResult"`
		Xmlns        string   `xml:"xmlns,attr"`
		ETag         string   `xml:"ETag"`
		LastModified string   `xml:"LastModified"`
		checksumXML
	}{Xmlns: xmlns, ETag: o.etag, LastModified: timeXML(o.modified)}
	res.checksumXML = checksumElement(o.checksumAlg, o.checksum)
	awsapi.WriteXML(c.w, c.call, http.StatusOK, res)
	c.notifyCreated(c.req.bucket, w)
	return nil
}
