import os

from setuptools import find_packages, setup

here = os.path.abspath(os.path.dirname(__file__))
with open(os.path.join(here, "README.md")) as f:
    README = f.read()

requires = [
    "pyramid>=2.0",
    "pyramid_jinja2>=2.10",
    "waitress>=3.0",
    "plaster_pastedeploy",
    "SQLAlchemy[asyncio]>=2.0.30",
    "alembic>=1.13",
    "pyramid_retry>=2.1",  # a request whose transaction lost to another (a deadlock, a Galera conflict) runs again
    "aiomysql>=0.2",
    "aiosqlite>=0.20",
    "aiohttp>=3.14.5",  # the guard relies on its resolver and connector hooks as tested with this release
    "argon2-cffi>=23.1",
    "pydantic>=2.6",
    "email-validator>=2.1",
    "uvloop>=0.19; sys_platform != 'win32'",
    "cookiecutter>=2.5",  # myapp_startproject
    "aiosmtplib>=3.0",  # e-mail alerts
    "apprise>=2.3",  # chat and push services' alerts (per-service results with their logs since 2.3)
    "prometheus_client>=0.20",  # /metrics
    "swagger-ui-py>=23.9",  # the API explorer's files (Swagger UI 5), served by us: no CDN
    "PyYAML>=6.0",  # monitors as code: /api/export and myapp_monitors
    "dnspython>=2.6",  # DNS monitors: its asyncio resolver
    "aiodns>=3.2",  # names of checks and deliveries looked up by c-ares on the loop (aiohttp's AsyncResolver)
    "croniter>=6.0",  # heartbeats on a cron schedule
]

dev_require = [
    "pyramid_debugtoolbar",
]

#: MySQL/MariaDB through asyncmy (mysql+asyncmy://), aiomysql's protocol compiled with Cython: an option
asyncmy_require = [
    "asyncmy>=0.2.9",
]

bench_require = [
    *asyncmy_require,
    "PyMySQL",
    "Flask[async]>=3.0",
    "starlette>=0.37",
    "uvicorn>=0.30",
    "httptools",
    "py-spy",
    "dnslib>=0.9.24",  # bench.scheduler --mix: a DNS server on loopback
]

#: what .ci/run checks before the tests; pinned, so a new release cannot fail a commit that passed
lint_require = [
    "ruff==0.17.6",
    "mypy==2.4.1",
    "mkdocs==1.6.1",  # docs/: `mkdocs build --strict` in .ci/run
]

tests_require = [
    "pytest>=8",
    "pytest-xdist>=3.5",  # the suite runs on every core (pytest.ini: -n auto)
    "WebTest>=3.0",
    "beautifulsoup4",
    "selenium>=4.20",  # drives Debian's chromium through its chromedriver; downloads nothing
    "hypothesis>=6.100",
    "cryptography>=42",  # certificates for the test HTTPS server
    "aiosmtpd>=1.4",  # a real SMTP server that records the alerts it receives
    "openapi-spec-validator>=0.7",  # /api/openapi.json is checked as OpenAPI 3.1
    "schemathesis>=4.0",  # fuzzes the live API from its document
    "dnslib>=0.9.24",  # a real DNS server on loopback for the DNS monitors' tests
    *asyncmy_require,  # CI runs the data layer's tests on it too
    *lint_require,
]

setup(
    name="myapp",
    version="0.1.0",
    description="A Pyramid application with async views, and the adapter that runs them",
    long_description=README,
    long_description_content_type="text/markdown",
    classifiers=[
        "Programming Language :: Python",
        "Framework :: Pyramid",
        "Framework :: AsyncIO",
        "Topic :: Internet :: WWW/HTTP :: WSGI :: Application",
    ],
    packages=find_packages(exclude=["tests", "tests.*", "bench", "bench.*"]),
    include_package_data=True,
    zip_safe=False,
    python_requires=">=3.11",
    install_requires=requires,
    extras_require={
        "testing": tests_require,
        "asyncmy": asyncmy_require,
        "dev": dev_require + tests_require,
        "bench": bench_require,
    },
    entry_points={
        "paste.app_factory": ["main = myapp:main"],
        "console_scripts": [
            "initialize_myapp_db = myapp.scripts.initialize_db:main",
            "create_myapp_admin = myapp.scripts.create_admin:main",
            "myapp_startproject = myapp.startproject:main",
            "myapp_monitors = myapp.manifest.cli:main",
        ],
    },
)
