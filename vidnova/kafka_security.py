"""SCRAM over TLS for the Apache Kafka nodes of vidnova/kafka_cluster.py, with ACLs enforced (SPEC §14.4).

The same broker settings as deploy/compose/kafka-security.properties: one SASL_SSL listener for clients,
SCRAM-SHA-512 users created when the storage is formatted (KRaft has no other way for the broker's own
user), TLS from PEM files that deploy/kafka/make-certs.sh generates, and the StandardAuthorizer with no
access unless an ACL grants it. The tests use it to prove on the wire what the settings only promise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

MECHANISM = "SCRAM-SHA-512"
ADMIN = "admin"


@dataclass(frozen=True)
class ScramTls:
    """A SASL_SSL client listener; ``users`` maps name → password and must include ``admin``."""

    certs_dir: Path
    users: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if ADMIN not in self.users:
            raise ValueError("the broker needs its own SCRAM user 'admin'")

    def broker_properties(self, *, port: int, controller_port: int) -> dict[str, str]:
        """What a combined node needs on top of its plain settings."""
        return {
            "listeners": f"SASL_SSL://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
            "advertised.listeners": f"SASL_SSL://127.0.0.1:{port}",
            "listener.security.protocol.map": "SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "SASL_SSL",
            **security_properties(self.certs_dir, admin_password=self.users[ADMIN]),
        }

    def format_arguments(self) -> list[str]:
        """`kafka-storage format` arguments that create the SCRAM users."""
        arguments: list[str] = []
        for name, password in self.users.items():
            arguments += ["--add-scram", f"{MECHANISM}=[name={name},password={password}]"]
        return arguments

    def client_env(self, user: str) -> dict[str, str]:
        """The services' settings (shared.settings.KafkaSettings) to connect as ``user``."""
        return {
            "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "KAFKA_SASL_MECHANISM": MECHANISM,
            "KAFKA_SASL_USERNAME": user,
            "KAFKA_SASL_PASSWORD": self.users[user],
            "KAFKA_SSL_CAFILE": str(self.certs_dir / "ca.crt"),
        }


def security_properties(certs_dir: Path | str, *, admin_password: str) -> dict[str, str]:
    """SCRAM, TLS and authorization settings of a broker (compose's file holds the same keys)."""
    return {
        "sasl.enabled.mechanisms": MECHANISM,
        "sasl.mechanism.inter.broker.protocol": MECHANISM,
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": _jaas(ADMIN, admin_password),
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": f"{certs_dir}/broker.pem",
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": f"{certs_dir}/ca.crt",
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        # ANONYMOUS is the broker itself on the controller listener, which listens on loopback only.
        "super.users": "User:admin;User:ANONYMOUS",
        "allow.everyone.if.no.acl.found": "false",
    }


def _jaas(user: str, password: str) -> str:
    module = "org.apache.kafka.common.security.scram.ScramLoginModule"
    return f'{module} required username="{user}" password="{password}";'
