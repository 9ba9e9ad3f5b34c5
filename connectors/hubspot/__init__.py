"""The HubSpot connector: reads deals with their contacts, engagements, line items and quotes through
hubspot-api-client's batch and association APIs, and writes the plugin's deal properties and tasks back.

Public surface: `HubSpotConfig` (connection settings) and `HubSpotConnector` (the `Connector` protocol).
Constructing either does no network I/O.
"""

from connectors.hubspot.config import HubSpotConfig, HubSpotOAuth
from connectors.hubspot.connector import HubSpotConnector

__all__ = ["HubSpotConfig", "HubSpotConnector", "HubSpotOAuth"]
