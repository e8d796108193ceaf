#!/usr/bin/env bash
# npm run services:up: Cassandra and MinIO on loopback, installed on first use, then .services/env.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start=$SECONDS
mkdir -p "$STATE"

# First use: fetch Cassandra and build MinIO side by side (both are cached afterwards).
"$SERVICES_DIR/cassandra.sh" install & cassandra_install=$!
"$SERVICES_DIR/minio.sh" install & minio_install=$!
wait "$cassandra_install" || die "installing Cassandra failed (see above)"
wait "$minio_install" || die "installing MinIO failed (see above)"

"$SERVICES_DIR/cassandra.sh" launch   # the slow one: let it boot while MinIO starts
"$SERVICES_DIR/minio.sh" start
"$SERVICES_DIR/cassandra.sh" wait

cat >"$STATE/env" <<ENV
# Written by npm run services:up. Use: source .services/env
export ONEPIC_METADATA=cassandra
export ONEPIC_CASSANDRA_CONTACT_POINTS=127.0.0.1:$CASSANDRA_PORT
export ONEPIC_CASSANDRA_LOCAL_DC=datacenter1
export ONEPIC_CASSANDRA_KEYSPACE=onepic
export ONEPIC_BLOBS=s3
export ONEPIC_S3_ENDPOINT=http://127.0.0.1:$MINIO_PORT
export ONEPIC_S3_BUCKET=$S3_BUCKET
export ONEPIC_S3_REGION=us-east-1
export ONEPIC_S3_FORCE_PATH_STYLE=true
export AWS_ACCESS_KEY_ID=$MINIO_USER
export AWS_SECRET_ACCESS_KEY=$MINIO_PASSWORD
ENV
log "up in $((SECONDS - start))s; settings in $STATE/env (source it)"
