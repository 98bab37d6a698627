"""(being written)"""

from fastapi import APIRouter

from service.console.rendering import PREFIX

router = APIRouter(prefix=PREFIX, include_in_schema=False)
