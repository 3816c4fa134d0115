from setuptools import find_packages, setup

requires = [
    "pyramid>=2.0",
    "pyramid_jinja2>=2.10",
    "waitress>=3.0",
    "plaster_pastedeploy",
{%- if cookiecutter.database == "sqlalchemy" %}
    "SQLAlchemy[asyncio]>=2.0.30",
    "alembic>=1.13",
    "aiosqlite>=0.20",
{%- endif %}
    "aiomysql>=0.2",
]

tests_require = [
    "pytest>=8",
    "WebTest>=3.0",
]

setup(
    name="{{ cookiecutter.package_name }}",
    version="0.1.0",
    description="{{ cookiecutter.description }}",
    author="{{ cookiecutter.author }}",
    classifiers=["Programming Language :: Python", "Framework :: Pyramid", "Framework :: AsyncIO"],
    packages=find_packages(exclude=["tests"]),
    include_package_data=True,
    zip_safe=False,
    python_requires=">=3.11",
    install_requires=requires,
    extras_require={"testing": tests_require},
    entry_points={"paste.app_factory": ["main = {{ cookiecutter.package_name }}:main"]},
)
