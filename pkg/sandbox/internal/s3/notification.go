package s3

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

func init() {
	handlers["PutBucketNotificationConfiguration"] = putBucketNotification
	handlers["GetBucketNotificationConfiguration"] = getBucketNotification
}

// notificationXML is a bucket's NotificationConfiguration. The sandbox
// delivers to EventBridge only; topic, queue and function destinations
// cannot be validated here and are refused as S3 refuses destinations it
// cannot reach.
type notificationXML struct {
	XMLName     xml.Name   `xml:"NotificationConfiguration"`
	Xmlns       string     `xml:"xmlns,attr,omitempty"`
	Topics      []struct{} `xml:"TopicConfiguration"`
	Queues      []struct{} `xml:"QueueConfiguration"`
	Functions   []struct{} `xml:"CloudFunctionConfiguration"`
	EventBridge *struct{}  `xml:"EventBridgeConfiguration"`
}

func putBucketNotification(c *reqCtx) error {
	if _, err := c.bucketFor("s3:PutBucketNotification", "", nil); err != nil {
		return err
	}
	var cfg notificationXML
	if err := decodeXML(c.r, &cfg, false); err != nil {
		return err
	}
	if len(cfg.Topics)+len(cfg.Queues)+len(cfg.Functions) > 0 {
		return invalidArgument("Destination", "", "Unable to validate the following destination configurations: the sandbox delivers bucket notifications to EventBridge only")
	}
	if err := c.s.withBucket(c.req.bucket, func(b *bucket) error {
		b.eventBridge = cfg.EventBridge != nil
		return nil
	}); err != nil {
		return err
	}
	okEmpty(c)
	return nil
}

func getBucketNotification(c *reqCtx) error {
	if _, err := c.bucketFor("s3:GetBucketNotification", "", nil); err != nil {
		return err
	}
	out := notificationXML{Xmlns: xmlns}
	if err := c.s.withBucket(c.req.bucket, func(b *bucket) error {
		if b.eventBridge {
			out.EventBridge = &struct{}{}
		}
		return nil
	}); err != nil {
		return err
	}
	awsapi.WriteXML(c.w, c.call, http.StatusOK, out)
	return nil
}

// sequencer orders the writes of the sandbox, as S3's per-key sequencer
// does: later writes get greater (hexadecimal, fixed-width) values.
var sequence atomic.Uint64

func nextSequencer(at time.Time) string {
	return fmt.Sprintf("%012X%06X", at.UnixMilli(), sequence.Add(1)&0xFFFFFF)
}
