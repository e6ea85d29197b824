#!/usr/bin/env python3
"""Reads an editor's timeline with OpenTimelineIO, the format's reference implementation, and
prints what an editor would see of it as JSON: the tracks' kinds, the video track's clips in order
with their place, length, media and markers, and the dialogue clips (named `… voice`) of the
audio tracks.

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


def start_on_timeline(clip, track):
    """Where a clip starts on the timeline: its place in its track, less where the track's own
    range starts (the CMX 3600 reader starts a sparse audio track at its first event's record
    time, as a negative source start)."""
    start = clip.range_in_parent().start_time
    if track.source_range is not None:
        start = start - track.source_range.start_time
    return frames(start)


def fcpxml_media(path):
    """FCPXML 1.9 names media in `media-rep`, which the adapter (written for 1.8's `src`) does
    not read: the asset-clips' media, in spine order, straight from the file."""
    root = ElementTree.parse(path).getroot()
    sources = {a.get("id"): a.find("media-rep").get("src") for a in root.iter("asset")}
    spine = root.find(".//spine")
    clips = spine.findall("asset-clip")
    voices = [sources.get(v.get("ref")) for c in clips for v in c.findall("asset-clip") if v.get("lane") == "-1"]
    return [sources.get(c.get("ref")) for c in clips], len(list(root.iter("caption"))), voices


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
            "start": start_on_timeline(clip, video),
            "frames": frames(clip.source_range.duration),
            "media": getattr(reference, "target_url", None),
            "markers": [m.name for m in clip.markers],
        })
    voices = []
    for track in timeline.tracks:
        if track.kind != otio.schema.TrackKind.Audio:
            continue
        for clip in track.find_clips():
            if clip.name.endswith(" voice"):
                voices.append({
                    "name": clip.name,
                    "start": start_on_timeline(clip, track),
                    "frames": frames(clip.source_range.duration),
                    "media": getattr(clip.media_reference, "target_url", None),
                })
    voices.sort(key=lambda v: v["start"])
    answer = {"name": timeline.name, "tracks": [t.kind for t in timeline.tracks], "clips": clips, "voices": voices}
    if extension == "fcpxml":
        media, captions, voice_media = fcpxml_media(path)
        for clip, source in zip(clips, media):
            clip["media"] = source
        for voice, source in zip(voices, voice_media):
            voice["media"] = source
        answer["captions"] = captions
    json.dump(answer, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main(sys.argv[1])
