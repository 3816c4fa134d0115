"""initialize_myapp_db <config_uri>: bring the database schema to the newest migration."""

import argparse
import sys

from pyramid.paster import get_appsettings, setup_logging

from myapp.models import database_url
from myapp.models.schema import head_revision, upgrade
from myapp.settings import from_environ


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("config_uri", help="the ini file, e.g. development.ini")
    return parser.parse_args(argv[1:])


def main(argv=sys.argv):
    args = parse_args(argv)
    setup_logging(args.config_uri)
    ini = args.config_uri.split("#")[0]
    settings = {**from_environ(get_appsettings(args.config_uri)), "myapp.ini_file": ini}
    url = database_url(settings)
    upgrade(settings, ini_file=ini)
    print(f"database at revision {head_revision()}: {url.split('@')[-1]}")
