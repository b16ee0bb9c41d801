#!/bin/sh
aws s3 cp s3://{{ConfigBucket}}/app.json /etc/app.json
