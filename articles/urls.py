from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("policy/", views.policy_list, name="policy-list"),
    path("policy/<int:pk>/", views.policy_detail, name="policy-detail"),
]
