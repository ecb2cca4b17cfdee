;; expect: not-a-function
(defun c:CIRS (/ ss)
  (setq ss (ssget "_X" ((0 . "CIRCLE"))))
  (princ)
)
