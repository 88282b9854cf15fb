#!/usr/bin/python3
"""Reads a subunit v2 stream on stdin and prints one JSON object per test:
{"id": ..., "status": "success|fail|skip|...", "reason": "..."}.
Runs on Debian's /usr/bin/python3, which has python3-subunit (tempest depends on it)."""
import json
import sys

import subunit
import testtools


def detail_text(details, key):
    content = details.get(key)
    if content is None:
        return ''
    try:
        return content.as_text()
    except Exception:  # a detail that is not text says nothing useful here
        return ''


def emit(test):
    details = test.get('details', {})
    reason = ''
    if test['status'] == 'skip':
        reason = detail_text(details, 'reason')
    elif test['status'] in ('fail', 'uxsuccess'):
        reason = detail_text(details, 'traceback')
    print(json.dumps({'id': test['id'], 'status': test['status'], 'reason': reason}))


stream = subunit.ByteStreamToStreamResult(sys.stdin.buffer, non_subunit_name='stdout')
result = testtools.StreamToDict(emit)
result.startTestRun()
try:
    stream.run(result)
finally:
    result.stopTestRun()
