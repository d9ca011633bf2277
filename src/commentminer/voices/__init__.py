"""Quoted voices: people quoted in article bodies with their role and place, written as `units` of kind "quote"."""
