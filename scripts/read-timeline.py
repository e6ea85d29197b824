#!/usr/bin/env python3
"""Reads an editor's timeline with OpenTimelineIO, the format's reference implementation, and
prints what an editor would see of it as JSON: the tracks' kinds, and the video track's clips in
order with their place, length, media and markers.

    read-timeline.py FILE   (.otio, .fcpxml or .edl; the adapters come from PyPI:
                             opentimelineio, otio-fcpx-xml-adapter, otio-cmx3600-adapter)
"""
import json
import sys
import xml.etree.ElementTree as ElementTree

import opentimelineio as otio

ADAPTERS = {"otio": "otio_json", "fcpxml": "fcpx_xml", "edl": "cmx_3600"}


def timeline_of(read):
    if isinstance(read, otio.schema.Timeline):
        return read
    for child in read:
        found = timeline_of(child) if not isinstance(child, otio.schema.Clip) else None
        if found is not None:
            return found
    return None


def frames(time):
    return round(time.value * 24 / time.rate)


def fcpxml_media(path):
    """FCPXML 1.9 names media in `media-rep`, which the adapter (written for 1.8's `src`) does
    not read: the asset-clips' media, in spine order, straight from the file."""
    root = ElementTree.parse(path).getroot()
    sources = {a.get("id"): a.find("media-rep").get("src") for a in root.iter("asset")}
    spine = root.find(".//spine")
    return [sources.get(c.get("ref")) for c in spine.findall("asset-clip")], len(list(root.iter("caption")))


def main(path):
    extension = path.rsplit(".", 1)[-1]
    kwargs = {"rate": 24} if extension == "edl" else {}
    timeline = timeline_of(otio.adapters.read_from_file(path, adapter_name=ADAPTERS[extension], **kwargs))
    video = next(t for t in timeline.tracks if t.kind == otio.schema.TrackKind.Video)
    clips = []
    for clip in video.find_clips():
        reference = clip.media_reference
        clips.append({
            "name": clip.name,
            "start": frames(clip.range_in_parent().start_time),
            "frames": frames(clip.source_range.duration),
            "media": getattr(reference, "target_url", None),
            "markers": [m.name for m in clip.markers],
        })
    answer = {"name": timeline.name, "tracks": [t.kind for t in timeline.tracks], "clips": clips}
    if extension == "fcpxml":
        media, captions = fcpxml_media(path)
        for clip, source in zip(clips, media):
            clip["media"] = source
        answer["captions"] = captions
    json.dump(answer, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main(sys.argv[1])
