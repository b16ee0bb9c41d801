package s3

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// minPartSize is S3's minimum size of every part but the last.
const minPartSize = 5 << 20

// upload is an in-progress multipart upload; guarded by Service.mu.
type upload struct {
	id        string
	key       string
	initiated time.Time
	initiator string
	// template holds the metadata, encryption and checksum settings of the final object.
	template *object
	parts    map[int]*part
}

type part struct {
	data        []byte
	etag        string
	checksumAlg string
	checksum    string
	modified    time.Time
}

func noSuchUpload(id string) error {
	e := awsapi.Errorf(http.StatusNotFound, "NoSuchUpload",
		"The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.")
	e.Fields = map[string]string{"UploadId": id}
	return e
}

func createMultipartUpload(c *reqCtx) error {
	key := c.req.key
	alg, kmsKey, err := authorizeWrite(c, key)
	if err != nil {
		return err
	}
	t := objectFromHeaders(key, c.r.Header)
	t.sse, t.kmsKeyID = alg, kmsKey
	if a := strings.ToUpper(c.r.Header.Get("x-amz-checksum-algorithm")); a != "" {
		if newChecksum(a) == nil {
			return invalidArgument("x-amz-checksum-algorithm", a, "Checksum algorithm provided is unsupported.")
		}
		t.checksumAlg = a
		t.checksumType = "COMPOSITE"
		if strings.EqualFold(c.r.Header.Get("x-amz-checksum-type"), "FULL_OBJECT") {
			if a == "SHA1" || a == "SHA256" {
				return invalidArgument("x-amz-checksum-type", "FULL_OBJECT", "The FULL_OBJECT checksum type is not supported for %s", a)
			}
			t.checksumType = "FULL_OBJECT"
		}
		if a == "CRC64NVME" {
			t.checksumType = "FULL_OBJECT"
		}
	}
	u := &upload{id: randomID(48), key: key, initiated: c.now(), initiator: c.call.Caller.ARN, template: t, parts: map[int]*part{}}
	var sse, kms string
	if err := c.s.withBucket(c.req.bucket, func(b *bucket) error {
		if t.sse == "" && b.sseAlg != "" {
			t.sse, t.kmsKeyID = b.sseAlg, b.kmsKeyID
		}
		sse, kms = t.sse, t.kmsKeyID
		b.uploads[u.id] = u
		return nil
	}); err != nil {
		return err
	}
	h := c.w.Header()
	if sse != "" {
		h.Set("x-amz-server-side-encryption", sse)
		if kms != "" {
			h.Set("x-amz-server-side-encryption-aws-kms-key-id", kms)
		}
	}
	if t.checksumAlg != "" {
		h.Set("x-amz-checksum-algorithm", t.checksumAlg)
		h.Set("x-amz-checksum-type", t.checksumType)
	}
	awsapi.WriteXML(c.w, c.call, http.StatusOK, struct {
		XMLName  xml.Name `xml:"InitiateMultipartUploadResult"`
		Xmlns    string   `xml:"xmlns,attr"`
		Bucket   string   `xml:"Bucket"`
		Key      string   `xml:"Key"`
		UploadID string   `xml:"UploadId"`
	}{Xmlns: xmlns, Bucket: c.req.bucket, Key: key, UploadID: u.id})
	return nil
}

func partNumber(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 10000 {
		return 0, invalidArgument("partNumber", v, "Part number must be an integer between 1 and 10000, inclusive")
	}
	return n, nil
}

// addPart stores data as part n of the request's upload.
func (c *reqCtx) addPart(n int, pt *part) (*object, error) {
	var t *object
	err := c.s.withBucket(c.req.bucket, func(b *bucket) error {
		id := c.req.query.Get("uploadId")
		u := b.uploads[id]
		if u == nil || u.key != c.req.key {
			return noSuchUpload(id)
		}
		t = u.template
		if t.checksumAlg != "" && pt.checksumAlg != t.checksumAlg {
			pt.checksumAlg, pt.checksum = t.checksumAlg, checksumOf(t.checksumAlg, pt.data)
		}
		u.parts[n] = pt
		return nil
	})
	return t, err
}

func partResponseHeaders(h http.Header, t *object, pt *part) {
	if t.sse != "" {
		h.Set("x-amz-server-side-encryption", t.sse)
		if t.kmsKeyID != "" {
			h.Set("x-amz-server-side-encryption-aws-kms-key-id", t.kmsKeyID)
		}
	}
	if t.checksumAlg != "" && pt.checksum != "" {
		h.Set(checksumHeader(t.checksumAlg), pt.checksum)
	}
}

func uploadPart(c *reqCtx) error {
	n, err := partNumber(c.req.query.Get("partNumber"))
	if err != nil {
		return err
	}
	if _, err := c.bucketFor("s3:PutObject", c.req.key, nil); err != nil {
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
	pt := &part{data: p.data, etag: `"` + md5Hex(p.data) + `"`, checksumAlg: csAlg, checksum: cs, modified: c.now()}
	t, err := c.addPart(n, pt)
	if err != nil {
		return err
	}
	h := c.w.Header()
	h.Set("ETag", pt.etag)
	partResponseHeaders(h, t, pt)
	okEmpty(c)
	return nil
}

func uploadPartCopy(c *reqCtx) error {
	n, err := partNumber(c.req.query.Get("partNumber"))
	if err != nil {
		return err
	}
	srcBucket, srcKey, srcVersion, err := copySource(c.r.Header.Get("x-amz-copy-source"))
	if err != nil {
		return err
	}
	if _, err := c.bucketFor("s3:PutObject", c.req.key, nil); err != nil {
		return err
	}
	src, _, err := c.readTarget(srcBucket, srcKey, srcVersion)
	if err != nil {
		return err
	}
	data := src.data
	if rg := c.r.Header.Get("x-amz-copy-source-range"); rg != "" {
		start, end, ok, err := parseRange(rg, int64(len(data)))
		if err != nil {
			return err
		}
		if !ok {
			return invalidArgument("x-amz-copy-source-range", rg, "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy")
		}
		data = data[start : end+1]
	}
	pt := &part{data: data, etag: `"` + md5Hex(data) + `"`, modified: c.now()}
	t, err := c.addPart(n, pt)
	if err != nil {
		return err
	}
	partResponseHeaders(c.w.Header(), t, pt)
	if srcVersion != "" {
		c.w.Header().Set("x-amz-copy-source-version-id", src.versionID)
	}
	awsapi.WriteXML(c.w, c.call, http.StatusOK, struct {
		XMLName      xml.Name `xml:"CopyPartResult"`
		Xmlns        string   `xml:"xmlns,attr"`
		ETag         string   `xml:"ETag"`
		LastModified string   `xml:"LastModified"`
	}{Xmlns: xmlns, ETag: pt.etag, LastModified: timeXML(pt.modified)})
	return nil
}

type completedPartXML struct {
	PartNumber int    `xml:"PartNumber"`
	ETag       string `xml:"ETag"`
	CRC32      string `xml:"ChecksumCRC32"`
	CRC32C     string `xml:"ChecksumCRC32C"`
	CRC64NVME  string `xml:"ChecksumCRC64NVME"`
	SHA1       string `xml:"ChecksumSHA1"`
	SHA256     string `xml:"ChecksumSHA256"`
}

func invalidPart() error {
	return awsapi.Errorf(http.StatusBadRequest, "InvalidPart",
		"One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not have matched the part's entity tag.")
}

// assemble joins the listed parts into the final object, checking them as S3 does.
func assemble(u *upload, list []completedPartXML) (*object, error) {
	if len(list) == 0 {
		return nil, malformedXML()
	}
	var data bytes.Buffer
	var sums []byte
	var partSums []string
	var sizes []int64
	prev := 0
	for _, cp := range list {
		if cp.PartNumber <= prev {
			return nil, awsapi.Errorf(http.StatusBadRequest, "InvalidPartOrder",
				"The list of parts was not in ascending order. Parts must be ordered by part number.")
		}
		prev = cp.PartNumber
	}
	for i, cp := range list {
		pt := u.parts[cp.PartNumber]
		if pt == nil || strings.Trim(cp.ETag, `"`) != strings.Trim(pt.etag, `"`) {
			return nil, invalidPart()
		}
		if i < len(list)-1 && len(pt.data) < minPartSize {
			e := awsapi.Errorf(http.StatusBadRequest, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size.")
			e.Fields = map[string]string{"ProposedSize": strconv.Itoa(len(pt.data)), "MinSizeAllowed": strconv.Itoa(minPartSize),
				"PartNumber": strconv.Itoa(cp.PartNumber), "ETag": strings.Trim(pt.etag, `"`)}
			return nil, e
		}
		raw, _ := hex.DecodeString(strings.Trim(pt.etag, `"`))
		sums = append(sums, raw...)
		partSums = append(partSums, pt.checksum)
		sizes = append(sizes, int64(len(pt.data)))
		data.Write(pt.data)
	}
	t := u.template
	o := &object{key: u.key, header: t.header.Clone(), meta: t.meta, sse: t.sse, kmsKeyID: t.kmsKeyID,
		data: data.Bytes(), parts: len(list), partSizes: sizes}
	sum := md5.Sum(sums)
	o.etag = fmt.Sprintf(`"%x-%d"`, sum[:], len(list))
	if t.checksumAlg != "" {
		o.checksumAlg, o.checksumType = t.checksumAlg, t.checksumType
		if t.checksumType == "FULL_OBJECT" {
			o.checksum = checksumOf(t.checksumAlg, o.data)
		} else {
			o.checksum = compositeChecksum(t.checksumAlg, partSums)
		}
	}
	return o, nil
}

func completeMultipartUpload(c *reqCtx) error {
	key := c.req.key
	if _, err := c.bucketFor("s3:PutObject", key, nil); err != nil {
		return err
	}
	var req struct {
		Parts []completedPartXML `xml:"Part"`
	}
	if err := decodeXML(c.r, &req, false); err != nil {
		return err
	}
	id := c.req.query.Get("uploadId")
	var o *object
	var w written
	err := c.s.withBucket(c.req.bucket, func(b *bucket) error {
		u := b.uploads[id]
		if u == nil || u.key != key {
			return noSuchUpload(id)
		}
		var err error
		if o, err = assemble(u, req.Parts); err != nil {
			return err
		}
		if err := checkWriteConditions(c.r.Header, b.current(key), key); err != nil {
			return err
		}
		o.versionID = b.newVersionID()
		o.modified = c.now()
		b.add(o)
		delete(b.uploads, id)
		w = written{obj: o, versioning: b.versioning, owner: b.owner, region: b.region, eventBridge: b.eventBridge}
		return nil
	})
	if err != nil {
		return err
	}
	writeHeaders(c.w.Header(), w)
	res := struct {
		XMLName  xml.Name `xml:"CompleteMultipartUploadResult"`
		Xmlns    string   `xml:"xmlns,attr"`
		Location string   `xml:"Location"`
		Bucket   string   `xml:"Bucket"`
		Key      string   `xml:"Key"`
		ETag     string   `xml:"ETag"`
		checksumXML
		ChecksumType string `xml:"ChecksumType,omitempty"`
	}{Xmlns: xmlns, Location: "/" + c.req.bucket + "/" + key, Bucket: c.req.bucket, Key: key, ETag: o.etag, ChecksumType: o.checksumType}
	res.checksumXML = checksumElement(o.checksumAlg, o.checksum)
	awsapi.WriteXML(c.w, c.call, http.StatusOK, res)
	c.notifyCreated(c.req.bucket, w)
	return nil
}

func abortMultipartUpload(c *reqCtx) error {
	if _, err := c.bucketFor("s3:AbortMultipartUpload", c.req.key, nil); err != nil {
		return err
	}
	id := c.req.query.Get("uploadId")
	if err := c.s.withBucket(c.req.bucket, func(b *bucket) error {
		u := b.uploads[id]
		if u == nil || u.key != c.req.key {
			return noSuchUpload(id)
		}
		delete(b.uploads, id)
		return nil
	}); err != nil {
		return err
	}
	noContent(c)
	return nil
}

type partXML struct {
	PartNumber   int    `xml:"PartNumber"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
	checksumXML
}

func listParts(c *reqCtx) error {
	q := c.req.query
	if _, err := c.bucketFor("s3:ListMultipartUploadParts", c.req.key, nil); err != nil {
		return err
	}
	maxParts := 1000
	if v := q.Get("max-parts"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return invalidArgument("max-parts", v, "Provided max-parts not an integer or within integer range")
		}
		maxParts = min(n, 1000)
	}
	marker := 0
	if v := q.Get("part-number-marker"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return invalidArgument("part-number-marker", v, "Provided part-number-marker not an integer or within integer range")
		}
		marker = n
	}
	id := q.Get("uploadId")
	var parts []partXML
	var initiator, alg, typ string
	truncated := false
	if err := c.s.withBucket(c.req.bucket, func(b *bucket) error {
		u := b.uploads[id]
		if u == nil || u.key != c.req.key {
			return noSuchUpload(id)
		}
		initiator, alg, typ = u.initiator, u.template.checksumAlg, u.template.checksumType
		nums := make([]int, 0, len(u.parts))
		for n := range u.parts {
			if n > marker {
				nums = append(nums, n)
			}
		}
		sort.Ints(nums)
		if len(nums) > maxParts {
			nums, truncated = nums[:maxParts], true
		}
		for _, n := range nums {
			pt := u.parts[n]
			px := partXML{PartNumber: n, LastModified: timeXML(pt.modified), ETag: pt.etag, Size: int64(len(pt.data))}
			px.checksumXML = checksumElement(alg, pt.checksum)
			parts = append(parts, px)
		}
		return nil
	}); err != nil {
		return err
	}
	out := struct {
		XMLName              xml.Name  `xml:"ListPartsResult"`
		Xmlns                string    `xml:"xmlns,attr"`
		Bucket               string    `xml:"Bucket"`
		Key                  string    `xml:"Key"`
		UploadID             string    `xml:"UploadId"`
		Initiator            owner     `xml:"Initiator"`
		Owner                owner     `xml:"Owner"`
		StorageClass         string    `xml:"StorageClass"`
		PartNumberMarker     int       `xml:"PartNumberMarker"`
		NextPartNumberMarker int       `xml:"NextPartNumberMarker"`
		MaxParts             int       `xml:"MaxParts"`
		IsTruncated          bool      `xml:"IsTruncated"`
		ChecksumAlgorithm    string    `xml:"ChecksumAlgorithm,omitempty"`
		ChecksumType         string    `xml:"ChecksumType,omitempty"`
		Parts                []partXML `xml:"Part"`
	}{Xmlns: xmlns, Bucket: c.req.bucket, Key: c.req.key, UploadID: id, Initiator: owner{ID: initiator, DisplayName: initiator},
		Owner: ownerOf(c.call.Caller.Account), StorageClass: "STANDARD", PartNumberMarker: marker, MaxParts: maxParts,
		IsTruncated: truncated, ChecksumAlgorithm: alg, ChecksumType: typ, Parts: parts}
	if len(parts) > 0 {
		out.NextPartNumberMarker = parts[len(parts)-1].PartNumber
	}
	awsapi.WriteXML(c.w, c.call, http.StatusOK, out)
	return nil
}

func listMultipartUploads(c *reqCtx) error {
	q := c.req.query
	p, err := parseListParams(q, "max-uploads")
	if err != nil {
		return err
	}
	v, err := c.bucketFor("s3:ListBucketMultipartUploads", "", map[string]string{"s3:prefix": p.prefix})
	if err != nil {
		return err
	}
	type uploadXML struct {
		Key          string `xml:"Key"`
		UploadID     string `xml:"UploadId"`
		Initiator    owner  `xml:"Initiator"`
		Owner        owner  `xml:"Owner"`
		StorageClass string `xml:"StorageClass"`
		Initiated    string `xml:"Initiated"`
	}
	var ups []uploadXML
	var keys []*upload
	if err := c.s.withBucket(c.req.bucket, func(b *bucket) error {
		for _, u := range b.uploads {
			if strings.HasPrefix(u.key, p.prefix) {
				keys = append(keys, u)
			}
		}
		return nil
	}); err != nil {
		return err
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].key != keys[j].key {
			return keys[i].key < keys[j].key
		}
		return keys[i].initiated.Before(keys[j].initiated)
	})
	truncated := false
	if len(keys) > p.maxKeys {
		keys, truncated = keys[:p.maxKeys], true
	}
	for _, u := range keys {
		ups = append(ups, uploadXML{Key: p.enc(u.key), UploadID: u.id, Initiator: owner{ID: u.initiator, DisplayName: u.initiator},
			Owner: ownerOf(v.owner), StorageClass: "STANDARD", Initiated: timeXML(u.initiated)})
	}
	out := struct {
		XMLName            xml.Name    `xml:"ListMultipartUploadsResult"`
		Xmlns              string      `xml:"xmlns,attr"`
		Bucket             string      `xml:"Bucket"`
		KeyMarker          string      `xml:"KeyMarker"`
		UploadIDMarker     string      `xml:"UploadIdMarker"`
		NextKeyMarker      string      `xml:"NextKeyMarker,omitempty"`
		NextUploadIDMarker string      `xml:"NextUploadIdMarker,omitempty"`
		Prefix             string      `xml:"Prefix"`
		MaxUploads         int         `xml:"MaxUploads"`
		IsTruncated        bool        `xml:"IsTruncated"`
		Uploads            []uploadXML `xml:"Upload"`
	}{Xmlns: xmlns, Bucket: v.name, Prefix: p.enc(p.prefix), MaxUploads: p.maxKeys, IsTruncated: truncated, Uploads: ups}
	if truncated && len(ups) > 0 {
		out.NextKeyMarker, out.NextUploadIDMarker = ups[len(ups)-1].Key, ups[len(ups)-1].UploadID
	}
	awsapi.WriteXML(c.w, c.call, http.StatusOK, out)
	return nil
}
