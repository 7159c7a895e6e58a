"""Settings classes, selected by ``COORD_ENV`` and read from the environment at app creation."""

from config.settings import (
    BaseConfig,
    DevelopmentConfig,
    ProductionConfig,
    TestingConfig,
    load_config,
)

__all__ = ["BaseConfig", "DevelopmentConfig", "ProductionConfig", "TestingConfig", "load_config"]
