"""Asynchronous payment events (guide: core services SQS and SNS).

Kafka (MSK) is the ordered event log between the services; SNS/SQS carry the events that leave that log
for work that must happen exactly-once-per-message and survive a consumer outage: settlement notices,
webhook deliveries to merchants, reconciliation triggers. The shape is the standard fan-out:

    payment-processor --publish--> SNS globalpay-<env>-payment-events --> SQS globalpay-<env>-payment-events
                                                                           --(5 failed receives)--> ...-dlq

* SNS topic and both queues are encrypted with the region's data key (its policy admits the SNS service
  principal, which must encrypt into the KMS-encrypted queue).
* The queue policy admits only this topic (``aws:SourceArn``) and refuses plain-HTTP access.
* Visibility timeout (default 300 s) is five times the consumer's 60 s processing budget, so a slow
  consumer's message is not redelivered to a second one while the first still works on it.
* Retention: 4 days on the main queue (a long weekend of consumer outage), 14 days (SQS's maximum) on the
  dead-letter queue, where an operator inspects and redrives.

Publishing and consuming need IAM on the service's own role (``constructs_lib/identity.py``): sns:Publish on the
topic for the publisher (payment-processor), sqs:ReceiveMessage/DeleteMessage/ChangeMessageVisibility on the
queue for the consumer (reconciliation-engine), kms:GenerateDataKey/Decrypt on the data key through SNS/SQS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from constructs import Construct

from constructs_lib.common import AccountContext, policy_document, protected
from constructs_lib.providers import aws

FOUR_DAYS = 4 * 24 * 3600
FOURTEEN_DAYS = 14 * 24 * 3600


@dataclass(frozen=True)
class PaymentEventsProps:
    """Props of :class:`PaymentEvents`."""

    #: Base name: ``globalpay-<env>-payment-events`` (topic and queue); the DLQ adds ``-dlq``.
    name: str
    kms_key_arn: str
    account: AccountContext
    #: Seconds a received message stays invisible (default 300 = 5 x the 60 s consumer budget).
    visibility_timeout_seconds: int = 300
    #: Main queue retention (default 4 days).
    retention_seconds: int = FOUR_DAYS
    #: Dead-letter queue retention (default 14 days, the SQS maximum).
    dlq_retention_seconds: int = FOURTEEN_DAYS
    #: Receives before a message moves to the DLQ (default 5).
    max_receive_count: int = 5


class PaymentEvents(Construct):
    """The payment-events topic, its queue and dead-letter queue, and the subscription between them."""

    def __init__(self, scope: Construct, id: str, props: PaymentEventsProps) -> None:
        super().__init__(scope, id)
        # The key is reused for 5 minutes per queue: fewer KMS calls, same protection.
        self.dlq = aws.sqs_queue.SqsQueue(
            self,
            "dlq",
            name=f"{props.name}-dlq",
            message_retention_seconds=props.dlq_retention_seconds,
            kms_master_key_id=props.kms_key_arn,
            kms_data_key_reuse_period_seconds=300,
            lifecycle=protected(),  # failed payment events wait here for a redrive
        )
        self.queue = aws.sqs_queue.SqsQueue(
            self,
            "queue",
            name=props.name,
            visibility_timeout_seconds=props.visibility_timeout_seconds,
            message_retention_seconds=props.retention_seconds,
            receive_wait_time_seconds=20,  # long polling: fewer empty receives
            kms_master_key_id=props.kms_key_arn,
            kms_data_key_reuse_period_seconds=300,
            redrive_policy=json.dumps({"deadLetterTargetArn": self.dlq.arn, "maxReceiveCount": props.max_receive_count}),
            lifecycle=protected(),  # payment events in flight
        )
        # Only the payment-events queue may use this DLQ (a DLQ shared by accident mixes failures).
        aws.sqs_queue_redrive_allow_policy.SqsQueueRedriveAllowPolicy(
            self,
            "dlq-redrive-allow",
            queue_url=self.dlq.url,
            redrive_allow_policy=json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [self.queue.arn]}),
        )
        self.topic = aws.sns_topic.SnsTopic(self, "topic", name=props.name, kms_master_key_id=props.kms_key_arn,
                                            lifecycle=protected())
        aws.sns_topic_policy.SnsTopicPolicy(
            self,
            "topic-policy",
            arn=self.topic.arn,
            policy=policy_document([
                {
                    "Sid": "AccountPublishesAndManages",
                    "Effect": "Allow",
                    "Principal": {"AWS": props.account.root_arn},
                    "Action": ["sns:Publish", "sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:Subscribe",
                               "sns:ListSubscriptionsByTopic"],
                    "Resource": self.topic.arn,
                },
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "sns:Publish",
                    "Resource": self.topic.arn,
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
            ]),
        )
        for label, queue in (("queue", self.queue), ("dlq", self.dlq)):
            statements = [{
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sqs:*",
                "Resource": queue.arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }]
            if queue is self.queue:
                statements.insert(0, {
                    "Sid": "PaymentEventsTopicOnly",
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue.arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": self.topic.arn}},
                })
            aws.sqs_queue_policy.SqsQueuePolicy(self, f"{label}-policy", queue_url=queue.url, policy=policy_document(statements))
        self.subscription = aws.sns_topic_subscription.SnsTopicSubscription(
            self,
            "subscription",
            topic_arn=self.topic.arn,
            protocol="sqs",
            endpoint=self.queue.arn,
            raw_message_delivery=True,  # consumers read the event itself, not an SNS envelope
        )
        self.topic_arn: str = self.topic.arn
        self.queue_arn: str = self.queue.arn
        self.queue_url: str = self.queue.url
        self.dlq_arn: str = self.dlq.arn
