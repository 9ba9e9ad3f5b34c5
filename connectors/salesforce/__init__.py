"""The Salesforce connector: reads opportunities as core `Deal`s and writes the plugin's fields and tasks.

Public surface: `SalesforceConfig` (connection settings) and `SalesforceConnector(config, playbook=None)`,
which implements `connectors.base.Connector`. Everything else is internal to the package.
"""

from connectors.salesforce.config import SalesforceConfig
from connectors.salesforce.connector import SalesforceConnector

__all__ = ["SalesforceConfig", "SalesforceConnector"]
