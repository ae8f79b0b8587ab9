"""db.create_requests_lost: the create requests no service took."""

from __future__ import annotations

import datetime
import uuid as uuidlib

import sqlalchemy as sa
from oslo_utils import timeutils

from nova.db import api as db
from nova.db import models
from nova.tests.unit.db import base

RUNS = db.table_of(models.FlowRun)


class TestCreateRequestsLost(base.DBTestCase):

    def setUp(self) -> None:
        super().setUp()
        self.instance = db.instance_create(self.ctx, {
            'vm_state': 'building', 'task_state': 'scheduling'})
        long_ago = timeutils.utcnow() - datetime.timedelta(minutes=5)
        self.action = db.action_start(self.ctx, self.instance['uuid'],
                                      'create', request_id='req-1',
                                      start_time=long_ago)

    def link_run(self, flow: str, status: str) -> None:
        with db.writer(self.admin) as connection:
            connection.execute(sa.insert(RUNS).values(
                id=str(uuidlib.uuid4()), flow=flow, status=status,
                instance_uuid=self.instance['uuid'],
                action_id=self.action['id'], host='h',
                started_at=timeutils.utcnow()))

    def lost(self) -> list[str]:
        return [row['instance_uuid'] for row in db.create_requests_lost(
            self.admin, timeutils.utcnow())]

    def test_a_request_no_service_took_is_lost(self):
        self.assertEqual([self.instance['uuid']], self.lost())

    def test_a_request_the_conductor_cast_to_a_host_that_lost_it(self):
        # The conductor's run ended (it cast the build) and no compute
        # host's run ever started: the host lost the cast.
        self.link_run('conductor.build_instances', 'success')
        self.assertEqual([self.instance['uuid']], self.lost())

    def test_even_when_a_recovered_run_finished_its_action(self):
        self.link_run('conductor.build_instances', 'success')
        db.action_finish(self.admin, self.instance['uuid'], 'req-1')
        self.assertEqual([self.instance['uuid']], self.lost())

    def test_not_while_the_conductor_still_runs_it(self):
        self.link_run('conductor.build_instances', 'running')
        self.assertEqual([], self.lost())

    def test_not_while_a_compute_host_builds_it(self):
        self.link_run('conductor.build_instances', 'success')
        self.link_run('compute.build_instance', 'running')
        self.assertEqual([], self.lost())

    def test_a_build_that_ended_without_writing_its_state(self):
        # The host's run ended (its failure handler could not set ERROR:
        # the database was down) and the instance still waits.
        self.link_run('conductor.build_instances', 'success')
        self.link_run('compute.build_instance', 'error')
        self.assertEqual([self.instance['uuid']], self.lost())

    def test_not_once_scheduled_or_too_recent(self):
        self.assertEqual([], [row for row in db.create_requests_lost(
            self.admin, timeutils.utcnow() - datetime.timedelta(hours=1))])
        db.instance_update(self.admin, self.instance['uuid'],
                           {'task_state': 'spawning', 'host': 'h'})
        self.assertEqual([], self.lost())
