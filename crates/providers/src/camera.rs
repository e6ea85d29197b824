//! A shot's camera movement, read from the words a shot list uses (Chinese or English), for the
//! vendors that steer the camera by parameters instead of by prompt. Every clip prompt keeps the
//! words too; this is the part a vendor can enforce.

/// One camera movement along one axis. A still camera, an orbit or words we do not know are
/// `None` where a movement is asked for: the prompt alone carries them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CameraMove {
    PushIn,
    PullOut,
    PanLeft,
    PanRight,
    TiltUp,
    TiltDown,
    TruckLeft,
    TruckRight,
    CraneUp,
    CraneDown,
    Roll,
}

/// The words of each movement, lower case. Longer phrases first where one holds another.
const WORDS: &[(CameraMove, &[&str])] = &[
    (
        CameraMove::PushIn,
        &["推近", "推镜", "推进", "缓推", "慢推", "push in", "push-in", "dolly in", "zoom in", "move in", "track in"],
    ),
    (
        CameraMove::PullOut,
        &["拉远", "拉镜", "后拉", "缓拉", "pull out", "pull back", "dolly out", "zoom out", "move out", "track out"],
    ),
    (CameraMove::PanLeft, &["左摇", "向左摇", "摇向左", "pan left", "pans left"]),
    (CameraMove::PanRight, &["右摇", "向右摇", "摇向右", "pan right", "pans right"]),
    (CameraMove::TiltUp, &["上摇", "向上摇", "仰摇", "tilt up", "tilts up"]),
    (CameraMove::TiltDown, &["下摇", "向下摇", "俯摇", "tilt down", "tilts down"]),
    (CameraMove::TruckLeft, &["左移", "向左移", "truck left", "track left"]),
    (CameraMove::TruckRight, &["右移", "向右移", "truck right", "track right"]),
    (CameraMove::CraneUp, &["升镜", "上升", "升起", "crane up", "pedestal up", "boom up"]),
    (CameraMove::CraneDown, &["降镜", "下降", "crane down", "pedestal down", "boom down"]),
    (CameraMove::Roll, &["旋转镜头", "镜头旋转", "roll", "dutch"]),
];

impl CameraMove {
    /// The movement `words` name first, if any ("推近后右摇" pushes in: one axis is all a vendor's
    /// simple control takes, and the first movement is the one the shot opens with).
    pub fn read(words: &str) -> Option<Self> {
        let words = words.to_lowercase();
        WORDS
            .iter()
            .filter_map(|(movement, phrases)| {
                phrases.iter().filter_map(|phrase| words.find(phrase)).min().map(|at| (at, *movement))
            })
            .min_by_key(|(at, _)| *at)
            .map(|(_, movement)| movement)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shot_lists_in_both_languages_name_movements() {
        assert_eq!(CameraMove::read("推近"), Some(CameraMove::PushIn));
        assert_eq!(CameraMove::read("镜头缓慢拉远"), Some(CameraMove::PullOut));
        assert_eq!(CameraMove::read("Slow push-in on her face"), Some(CameraMove::PushIn));
        assert_eq!(CameraMove::read("Camera pans left across the street"), Some(CameraMove::PanLeft));
        assert_eq!(CameraMove::read("TILT UP to the tower"), Some(CameraMove::TiltUp));
        assert_eq!(CameraMove::read("向右移"), Some(CameraMove::TruckRight));
        assert_eq!(CameraMove::read("升镜，俯瞰城市"), Some(CameraMove::CraneUp));
        assert_eq!(CameraMove::read("dutch angle, slow roll"), Some(CameraMove::Roll));
    }

    #[test]
    fn the_first_movement_wins_and_still_cameras_have_none() {
        assert_eq!(CameraMove::read("推近后右摇"), Some(CameraMove::PushIn));
        assert_eq!(CameraMove::read("pan right, then push in"), Some(CameraMove::PanRight));
        assert_eq!(CameraMove::read("固定镜头"), None);
        assert_eq!(CameraMove::read("static"), None);
        assert_eq!(CameraMove::read("环绕"), None);
        assert_eq!(CameraMove::read(""), None);
    }
}
